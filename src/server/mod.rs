//! Listeners, site selection, shutdown.
