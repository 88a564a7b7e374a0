//! Chat templates through minijinja (being written).
