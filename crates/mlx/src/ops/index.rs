//! Indexing: take, gather, slice, slice_update, the scatter family, put_along_axis.
