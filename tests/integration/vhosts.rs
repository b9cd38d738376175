//! vhosts
