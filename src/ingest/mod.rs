pub mod mask;
pub mod status_line;
