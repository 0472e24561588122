// No native extractor: msgpackr checks `if (extractor)` and keeps its pure-JS decoder.
module.exports = undefined;
