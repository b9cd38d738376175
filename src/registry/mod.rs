//! The sessions collection of each site (IIS `ftpServer/sessions`), read-only to everyone
//! but the owning session task, and the bounded history of ended sessions.
