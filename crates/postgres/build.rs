//! `embed_migrations!` reads `migrations/` at compile time but cannot tell cargo to watch it, so
//! without this a newly added migration is silently left out of an incremental build.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    println!("cargo:rerun-if-changed=build.rs");
}
