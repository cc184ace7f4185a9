//! Plain-text and Markdown tables for the summaries that commands print.
