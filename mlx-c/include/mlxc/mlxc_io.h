/*
 * File IO: NumPy's .npy format and safetensors.
 *
 * Paths are used exactly as given (unlike MLX's Python API, no ".npy" or ".safetensors" suffix
 * is appended). Loading reads on the CPU and evaluates at once, so a missing, truncated or
 * corrupt file is reported by the load call itself, and the file may change afterwards.
 */
#ifndef MLXC_IO_H
#define MLXC_IO_H

#ifdef __cplusplus
extern "C" {
#endif

/** Named arrays and string metadata read from a file. Free with mlxc_tensor_map_free. */
typedef struct mlxc_tensor_map_s* mlxc_tensor_map;

/** Writes `a` to `path` in .npy format. */
int mlxc_save_npy(const char* path, mlxc_array a);
/** Reads a .npy file. */
int mlxc_load_npy(mlxc_array* res, const char* path);
/** `a` in .npy format, as a new buffer of `*len` bytes (free with mlxc_bytes_free). */
int mlxc_npy_to_bytes(uint8_t** data, size_t* len, mlxc_array a);
/** Parses `len` bytes of .npy data (copied). */
int mlxc_npy_from_bytes(mlxc_array* res, const uint8_t* data, size_t len);
/** Frees a buffer returned by this library. */
void mlxc_bytes_free(uint8_t* data);

/**
 * Writes `n` named arrays and `n_meta` metadata entries to `path` in safetensors format. Names
 * and metadata are NUL-terminated UTF-8.
 */
int mlxc_save_safetensors(const char* path, const char* const* names, const mlxc_array* arrays,
                          size_t n, const char* const* meta_keys, const char* const* meta_values,
                          size_t n_meta);
/** Reads a safetensors file: its arrays and its metadata. */
int mlxc_load_safetensors(mlxc_tensor_map* res, const char* path);

/** Number of arrays in the map. */
size_t mlxc_tensor_map_size(mlxc_tensor_map m);
/** Name of array `i` (`*len` bytes, not NUL-terminated), valid while `m` lives. */
const char* mlxc_tensor_map_name(mlxc_tensor_map m, size_t i, size_t* len);
/** A new handle to array `i`. */
int mlxc_tensor_map_array(mlxc_array* res, mlxc_tensor_map m, size_t i);
/** Number of metadata entries. */
size_t mlxc_tensor_map_metadata_size(mlxc_tensor_map m);
/** Key of metadata entry `i` (`*len` bytes), valid while `m` lives. */
const char* mlxc_tensor_map_metadata_key(mlxc_tensor_map m, size_t i, size_t* len);
/** Value of metadata entry `i` (`*len` bytes), valid while `m` lives. */
const char* mlxc_tensor_map_metadata_value(mlxc_tensor_map m, size_t i, size_t* len);
void mlxc_tensor_map_free(mlxc_tensor_map m);

#ifdef __cplusplus
}
#endif

#endif /* MLXC_IO_H */
