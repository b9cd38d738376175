//! The one mapping from storage and path failures to FTP replies.

use wharf_proto::Reply;
use wharf_proto::path::PathError;

use crate::storage::{StorageError, StorageErrorKind};

/// The reply for a storage failure. `detailed` appends the cause (only for local clients
/// with `messages@allowLocalDetailedErrors`; remote clients never see internals).
pub fn storage_reply(error: &StorageError, detailed: bool) -> Reply {
    let (code, text) = match error.kind {
        StorageErrorKind::Transient => (450, "The file is busy, try again later."),
        StorageErrorKind::NotFound => (550, "The system cannot find the file specified."),
        StorageErrorKind::PermissionDenied => (550, "Access is denied."),
        StorageErrorKind::AlreadyExists => {
            (550, "Cannot create a file when that file already exists.")
        }
        StorageErrorKind::WrongKind => (
            550,
            "The object is not of the required kind (file or directory).",
        ),
        StorageErrorKind::NotEmpty => (550, "The directory is not empty."),
        StorageErrorKind::InsufficientStorage => (552, "Insufficient storage space."),
        StorageErrorKind::NameNotAllowed => (553, "File name not allowed."),
        // The same answer as a refused permission: nothing about what lies outside.
        StorageErrorKind::OutsideRoot => (550, "Access is denied."),
        StorageErrorKind::Local => (451, "Local error in processing."),
    };
    if !detailed {
        tracing::debug!(error = %error, "storage error");
        return Reply::new(code, text);
    }
    match &error.source {
        Some(source) => Reply::new(code, format!("{text} ({source})")),
        None => Reply::new(code, text),
    }
}

/// The reply for a refused client path.
pub fn path_reply(error: PathError) -> Reply {
    match error {
        PathError::ForbiddenCharacter => Reply::new(
            553,
            "File name not allowed: control characters are refused.",
        ),
        PathError::TooLong => Reply::new(553, "File name not allowed: the path is too long."),
    }
}

/// The reply when authorization rules refuse an operation (IIS substatus 1).
pub fn denied_reply() -> Reply {
    Reply::new(550, "Access is denied.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_only_when_asked() {
        let e = StorageError::from(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "secret/internal/path",
        ));
        let plain = storage_reply(&e, false);
        assert_eq!(plain.code, 550);
        assert!(!plain.lines[0].contains("secret"));
        assert!(storage_reply(&e, true).lines[0].contains("secret/internal/path"));
    }

    #[test]
    fn quota_maps_to_552_and_names_to_553() {
        assert_eq!(
            storage_reply(
                &StorageError::new(StorageErrorKind::InsufficientStorage),
                false
            )
            .code,
            552
        );
        assert_eq!(
            storage_reply(&StorageError::new(StorageErrorKind::NameNotAllowed), false).code,
            553
        );
        assert_eq!(
            storage_reply(&StorageError::new(StorageErrorKind::Transient), false).code,
            450
        );
    }
}
