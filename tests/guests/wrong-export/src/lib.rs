//! `wrong-export`: a well-formed WebAssembly component that exports the wrong interface
//! (`run`, not Kiln's `describe`/`render`). Loading it must fail with a message saying what
//! it lacks.

wit_bindgen::generate!({
    path: "wit",
    world: "wrong",
});

struct WrongExport;

impl Guest for WrongExport {
    fn run() -> String {
        "I am not a Kiln definition".into()
    }
}

export!(WrongExport);
