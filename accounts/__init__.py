"""Accounts: users (the custom user model), teams and team roles."""
