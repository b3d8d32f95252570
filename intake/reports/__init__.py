"""What the bureau reads back: the four rates, the bulletin, the weekly analysis."""
