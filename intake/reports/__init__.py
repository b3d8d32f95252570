"""What the bureau reads back and publishes: rates, bulletins and their archive, the year."""
