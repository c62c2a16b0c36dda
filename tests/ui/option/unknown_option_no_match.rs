// An option that batchnorm does not have (PyTorch's `track_running_stats`).
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(track_running_stats = false),
    }
}

fn main() {}
