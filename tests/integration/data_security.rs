//! data_security
