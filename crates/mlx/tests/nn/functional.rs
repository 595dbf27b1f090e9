//! Activations, initializers and losses against Python MLX and closed forms.
