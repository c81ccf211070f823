//! What Arrow knows about a mapping's customer, set beside what the ledger knows: Arrow
//! customers matched with local customers, licenses matched with resources, Arrow's
//! figures for the current month, and the billing summary (from the read models only).
