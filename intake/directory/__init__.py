"""Who is who: units, leaders, liaisons, accounts, phones, cards, tokens, contacts."""
