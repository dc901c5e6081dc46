//! A synchronous client for synchronous code (being written).
