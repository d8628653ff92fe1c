//! `uniffi-bindgen`: generates the Kotlin, Swift and Python sources of `bindings-uniffi` from its built library
//! (library mode). Kept in the repository so that the generator's version always equals the crate's uniffi.

fn main() {
    uniffi::uniffi_bindgen_main()
}
