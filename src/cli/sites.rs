//! `wharf sites list`: sites, state, bindings and session counts, from `GET /api/v1/sites`.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use super::admin_client::{AdminClient, CliError, JSON, XML, run_command};
use super::output::{self, Format, Table};
use super::{AdminArgs, SitesCommand};

/// Runs a sites subcommand.
pub fn run(command: SitesCommand) -> ExitCode {
    match command {
        SitesCommand::List { admin } => run_command(list(admin)),
    }
}

async fn list(args: AdminArgs) -> Result<(), CliError> {
    let client = AdminClient::from_args(args.config.as_deref(), args.admin_url.as_deref())?;
    let accept = if args.output == Format::Xml {
        XML
    } else {
        JSON
    };
    let response = client.get("/api/v1/sites", accept).await?;
    let text = if args.output == Format::Xml && response.is_xml() {
        output::with_newline(response.text())
    } else {
        render(&response.json()?, args.output)
    };
    print(&text)
}

/// Renders the `{"sites":[…]}` document.
fn render(document: &Value, format: Format) -> String {
    let sites = document
        .get("sites")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match format {
        Format::Json => output::pretty_json(document),
        Format::Xml => output::xml_document(output::xml_collection("sites", "site", &sites)),
        Format::Table => {
            let mut table = Table::new(&[">ID", "NAME", "STATE", ">SESSIONS", "BINDINGS"]);
            for site in &sites {
                let bindings: Vec<String> = site
                    .get("bindings")
                    .and_then(Value::as_array)
                    .map(|b| b.iter().map(|v| format!("ftp/{}", scalar(v))).collect())
                    .unwrap_or_default();
                table.row(vec![
                    output::text(site, "id"),
                    output::text(site, "name"),
                    output::text(site, "state"),
                    output::text(site, "sessions"),
                    bindings.join(", "),
                ]);
            }
            table.render()
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes to stdout; a closed pipe is not an error worth a message.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failed(format!("cannot write the output: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_table() {
        let doc: Value = serde_json::from_str(
            r#"{"sites":[{"name":"Default FTP Site","id":1,"state":"Started","bindings":["127.0.0.1:2121:"],"sessions":3}]}"#,
        )
        .unwrap();
        assert_eq!(
            render(&doc, Format::Table),
            "ID  NAME              STATE    SESSIONS  BINDINGS\n 1  Default FTP Site  Started         3  ftp/127.0.0.1:2121:\n"
        );
        assert!(
            render(&doc, Format::Xml)
                .contains("<sites>\n  <site name=\"Default FTP Site\" id=\"1\"")
        );
    }
}
