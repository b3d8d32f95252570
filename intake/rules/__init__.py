"""What every action passes: permissions, status changes, criticism and accountability."""
