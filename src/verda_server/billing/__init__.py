"""Money: what resources cost, the ledger of charges, and the project balance."""
