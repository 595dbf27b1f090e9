//! Reading and writing arrays: safetensors, `.npy` and `.npz`.
