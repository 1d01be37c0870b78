//! One error type for everything a user can hand us: each variant names which file was wrong.

/// What went wrong, phrased for the person who supplied the input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `config.json` or `preprocessor_config.json` is unreadable or inconsistent.
    #[error("{0}")]
    Config(String),
    /// `model.safetensors` is unreadable, or does not hold the tower the config describes.
    #[error("model.safetensors: {0}")]
    Checkpoint(String),
    /// The image (or pixel tensor) cannot be used.
    #[error("image: {0}")]
    Image(String),
    /// A label or token sequence cannot be used.
    #[error("text: {0}")]
    Text(String),
    /// A tokenizer file (`spiece.model`, `tokenizer.json`, `tokenizer_config.json`, …) is missing,
    /// unreadable or describes something we do not support; the message names the file.
    #[error("{0}")]
    Tokenizer(String),
    /// A tensor operation failed: a bug or an exhausted allocator, not bad input.
    #[error("tensor computation failed: {0}")]
    Candle(candle_core::Error),
}

impl From<candle_core::Error> for Error {
    /// Keeps the message, drops the backtrace candle attaches when `RUST_BACKTRACE` is set.
    fn from(error: candle_core::Error) -> Self {
        Error::Candle(without_backtrace(error))
    }
}

impl Error {
    /// A failure while loading weights: our checks' messages are about the checkpoint; anything
    /// else is candle's.
    pub(crate) fn loading(error: candle_core::Error) -> Self {
        match without_backtrace(error) {
            candle_core::Error::Msg(message) => Error::Checkpoint(message),
            other => Error::Candle(other),
        }
    }
}

/// The error itself, without the backtrace wrappers candle adds.
pub(crate) fn without_backtrace(error: candle_core::Error) -> candle_core::Error {
    match error {
        candle_core::Error::WithBacktrace { inner, .. } => without_backtrace(*inner),
        other => other,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
