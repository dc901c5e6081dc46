//! Server-sent events decoder (being written).
