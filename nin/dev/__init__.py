"""Tools only developers run: example gallery, explorer precomputation, app and load benchmarks."""
