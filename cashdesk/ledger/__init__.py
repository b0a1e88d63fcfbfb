"""The ledger: prepaid balances, call charges, cabin sessions, payments, and the
invariants that prove them.

    kinds       kinds of top-up and of balance movement (imported by the models)
    errors      one exception class per refusal
    accounts    record_topup, charge_call, balance
    sessions    open_session_for, attach_call, session_due
    payments    pay_cabin → Payment
    view        LedgerView: a plain, database-free snapshot
    snapshot    load_view: a LedgerView from the database
    invariants  pure validators over a LedgerView, INVARIANTS, check_all
    profit      profit(view, since, until): revenue − cost

Nothing is imported here: the storage models import `kinds`, and importing the
operations from this package would import the models back.
"""
