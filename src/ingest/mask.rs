use std::borrow::Cow;
pub fn mask(text: &str) -> Cow<'_, str> {
    text.into()
}
