//! Sandbox primaries in temporary directories, driven through `postmulti -c DIR`.
