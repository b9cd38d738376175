//! `kill -9` during an upload: the old file is untouched, and the temporary the upload was
//! writing is removed at the next start (from the journal in the state directory, without
//! scanning the served tree).

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::ftp::RawFtp;
use crate::common::process::{ServerProcess, add_user};
use crate::support::{ALICE, ALICE_PW, pseudo_random, standard_config};

fn temporaries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".wharf-upload-"))
        .collect()
}

#[test]
fn temporaries_of_a_killed_server_are_removed_at_the_next_start() {
    let dir = tempfile::Builder::new()
        .prefix("wharf-crash-")
        .tempdir()
        .unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let old = pseudo_random(5, 100_000);
    std::fs::write(root.join("report.bin"), &old).unwrap();
    let config = dir.path().join("wharf.config");
    std::fs::write(&config, standard_config(&root, "")).unwrap();
    add_user(&config, ALICE, "staff", ALICE_PW);

    let server = ServerProcess::serve(&config, dir.path(), 1).kill_on_drop();
    let mut ftp = RawFtp::connect_login(server.listening[0].addr, ALICE, ALICE_PW);
    assert_eq!(ftp.cmd("TYPE I").0, 200);
    let data_addr = ftp.pasv();
    let mut data = TcpStream::connect(data_addr).unwrap();
    ftp.send("STOR report.bin");
    assert_eq!(ftp.reply().unwrap().0, 150);
    data.write_all(&pseudo_random(6, 1 << 20)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while temporaries(&root).is_empty() {
        assert!(Instant::now() < deadline, "no temporary appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    // kill -9: nothing of the server's clean-up runs.
    drop(server);
    drop(data);
    assert_eq!(
        temporaries(&root).len(),
        1,
        "the killed upload left its temporary"
    );
    assert!(std::fs::read(root.join("report.bin")).unwrap() == old);

    let server = ServerProcess::serve(&config, dir.path(), 1);
    assert!(
        temporaries(&root).is_empty(),
        "the next start removes it: {}",
        server.output()
    );
    assert!(std::fs::read(root.join("report.bin")).unwrap() == old);
    assert!(
        server
            .output()
            .contains("removed the temporary of an interrupted upload"),
        "{}",
        server.output()
    );
    server.stop();
}
