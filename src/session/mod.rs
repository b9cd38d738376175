//! One task per control connection.
