//! The seeds' async patterns, runtime-agnostic (being written).
