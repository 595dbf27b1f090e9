//! Sorting, partitioning, top-k.
