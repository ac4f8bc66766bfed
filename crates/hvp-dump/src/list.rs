//! `--list-models`: the zoo as a table, with parameter counts for each
//! model's default data.

use std::path::Path;

use cli::Result;
use nets::data::{DataKind, Input};
use nets::zoo::{ModelOptions, ZOO};
use records::RecordWriter;

use crate::messages::from_nets;

pub fn list_models(data_dir: &Path) -> Result<()> {
    let mut out = RecordWriter::stdout();
    let mut text = format!("{:<18} {:>12}  {:<18} {}\n", "model", "parameters", "default data", "description");
    let chars = nets::data::load_shakespeare(data_dir).map(|t| nets::data::char_tokens(&t).vocab).ok();
    for e in ZOO {
        let input = e.input;
        let specials = if input == Input::MaskedLm { nets::data::BERT_SPECIALS } else { 0 };
        let vocab = match e.default_data {
            DataKind::ShakespeareChar => chars.map(|v| v + specials),
            DataKind::ShakespeareBpe => Some(nets::data::GPT2_VOCAB_PADDED),
            _ => Some(if input == Input::Tokens { 16 } else { 10 }),
        };
        let params = match vocab {
            // An MLP's features: the default data's (MNIST's 784).
            Some(v) => e.arch(&ModelOptions::default(), 784, v).map_err(from_nets)?.param_count().to_string(),
            None => "(needs data)".into(),
        };
        text.push_str(&format!("{:<18} {:>12}  {:<18} {}\n", e.name, params, e.default_data.name(), e.about));
    }
    text.push_str(
        "(image models: parameters for the data's 10 classes; BERT: for Shakespeare's characters plus 4 special tokens)\n",
    );
    Ok(out.write_text(&text)?)
}
