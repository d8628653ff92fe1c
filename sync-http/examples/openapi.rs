//! Prints the OpenAPI document the router serves at `GET /openapi.json` (for tools that want it as a file).

fn main() {
    match sync_http::openapi().to_pretty_json() {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("cannot render the OpenAPI document: {e}");
            std::process::exit(1);
        }
    }
}
