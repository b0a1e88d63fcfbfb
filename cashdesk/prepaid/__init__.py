"""The prepaid guard: authorise before connecting, reserve each increment as it starts,
and cut every call of a level at the exact instant that level can no longer pay."""
