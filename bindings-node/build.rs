//! Links the addon against Node-API the way each platform needs.

fn main() {
    napi_build::setup();
}
