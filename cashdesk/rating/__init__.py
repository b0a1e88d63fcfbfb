"""Rating: what a call costs, for the customer (sell), the shop (buy) and the reseller.

`numbers` turns what a cabin dialled into digits; `index` finds the longest matching
prefix in memory; `pricing` turns a duration into billed seconds and money (`charge`,
the one function for the live tile and the bill); `rater` keeps the indexes of every
tariff and cabin current; `deck` reads and writes CSV rate decks; `destinations` names
prefixes from the numbering plan.
"""
