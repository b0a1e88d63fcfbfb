"""The ledger's invariants, each a pure function of a `LedgerView` returning a list of
errors (empty when it holds), all registered in `INVARIANTS` (after beancount's
`ops/validation.py`). Tests run `check_all` after every scenario step; an audit can run
it on a live database through `snapshot.load_view`.

Each validator re-derives what it checks from the raw rows rather than calling the
code that wrote them, so a bug in an operation cannot hide itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime

from cashdesk.ledger.kinds import EntryKind, TopupKind
from cashdesk.ledger.profit import in_period, profit
from cashdesk.ledger.view import CallView, LedgerView
from cashdesk.money import Money, money_sum

Validator = Callable[[LedgerView], list[str]]


def check_currency(view: LedgerView) -> list[str]:
    """Every amount is in the currency of its account, and the shop's in the shop's."""
    errors = []
    for account in view.accounts:
        if account.balance.currency != account.currency:
            errors.append(f"account {account.id}: balance in {account.balance.currency}, "
                          f"account kept in {account.currency}")
    shop = view.account(view.shop_account_id)
    if shop is not None and shop.currency != view.currency:
        errors.append(f"shop account {shop.id} is kept in {shop.currency}, "
                      f"the shop in {view.currency}")
    for entry in view.entries:
        owner = view.account(entry.account_id)
        expected = owner.currency if owner is not None else view.currency
        if {entry.amount.currency, entry.balance_after.currency} != {expected}:
            errors.append(f"entry {entry.id}: not in {expected}")
    for topup in view.topups:
        owner = view.account(topup.account_id)
        if owner is not None and topup.amount.currency != owner.currency:
            errors.append(f"top-up {topup.id}: {topup.amount.currency}, "
                          f"account kept in {owner.currency}")
    for call in view.calls:
        if {call.price.currency, call.cost.currency, call.provider_cost.currency} != \
                {view.currency}:
            errors.append(f"call {call.id}: amounts not in {view.currency}")
    for transaction in view.transactions:
        amounts = {transaction.amount_due.currency, transaction.received.currency,
                   transaction.change.currency}
        if amounts != {view.currency}:
            errors.append(f"transaction {transaction.id}: amounts not in {view.currency}")
    return errors


def check_prepaid_not_negative(view: LedgerView) -> list[str]:
    """A prepaid balance is never below zero: not now, and not after any entry."""
    errors = []
    for account in view.accounts:
        if not account.prepaid:
            continue
        if account.balance.is_negative():
            errors.append(f"prepaid account {account.id} is below zero: {account.balance}")
        for entry in view.entries:
            if entry.account_id == account.id and entry.balance_after.is_negative():
                errors.append(f"prepaid account {account.id} went below zero at entry "
                              f"{entry.id}: {entry.balance_after}")
    return errors


def check_balances_replay(view: LedgerView) -> list[str]:
    """Each balance is the sum of its entries, and each entry's `balance_after` is the
    running sum up to it (entries in the order they were written)."""
    errors = []
    for account in view.accounts:
        running = Money.zero(account.currency)
        for entry in sorted((e for e in view.entries if e.account_id == account.id),
                            key=lambda e: e.id):
            running = running + entry.amount
            if entry.balance_after != running:
                errors.append(f"entry {entry.id} on account {account.id}: balance_after "
                              f"{entry.balance_after}, running sum {running}")
        if account.balance != running:
            errors.append(f"account {account.id}: balance {account.balance} but its entries "
                          f"sum to {running}")
    return errors


def check_topups(view: LedgerView) -> list[str]:
    """Every top-up has exactly one entry of the same amount on its account; every
    top-up entry names a top-up; only corrections are negative, and none is zero."""
    errors = []
    topup_entries = [e for e in view.entries if e.kind is EntryKind.TOPUP]
    by_topup = defaultdict(list)
    for entry in topup_entries:
        if entry.topup_id is None or entry.call_id is not None:
            errors.append(f"top-up entry {entry.id} must name a top-up and no call")
        else:
            by_topup[entry.topup_id].append(entry)
    for entry in view.entries:
        if entry.kind is EntryKind.CALL and (entry.call_id is None or entry.topup_id is not None):
            errors.append(f"call entry {entry.id} must name a call and no top-up")
    known = {t.id for t in view.topups}
    for topup_id in by_topup.keys() - known:
        errors.append(f"entries {[e.id for e in by_topup[topup_id]]} name top-up {topup_id}, "
                      f"which does not exist")
    for topup in view.topups:
        entries = by_topup.get(topup.id, [])
        if len(entries) != 1:
            errors.append(f"top-up {topup.id} has {len(entries)} entries, not 1")
        elif entries[0].account_id != topup.account_id or entries[0].amount != topup.amount:
            errors.append(f"top-up {topup.id} of {topup.amount} to account {topup.account_id} "
                          f"has an entry of {entries[0].amount} on account "
                          f"{entries[0].account_id}")
        if topup.kind is TopupKind.CORRECTION:
            if not topup.amount:
                errors.append(f"correction {topup.id} is zero")
        elif topup.amount.amount <= 0:
            errors.append(f"{topup.kind.value} top-up {topup.id} is not positive: {topup.amount}")
    return errors


def check_payments_equal_calls(view: LedgerView) -> list[str]:
    """A transaction's amount due is the sum of its session's (answered) call prices."""
    errors = []
    calls_of = _calls_by_session(view)
    for transaction in view.transactions:
        due = money_sum([c.billable_price for c in calls_of.get(transaction.session_id, [])],
                        view.currency)
        if transaction.amount_due != due:
            errors.append(f"transaction {transaction.id}: amount due {transaction.amount_due}, "
                          f"its calls' prices sum to {due}")
    return errors


def check_change(view: LedgerView) -> list[str]:
    """Change = received − due, and the cash received covers what is due."""
    errors = []
    for transaction in view.transactions:
        if transaction.received < transaction.amount_due:
            errors.append(f"transaction {transaction.id}: received {transaction.received} "
                          f"< due {transaction.amount_due}")
        if transaction.change != transaction.received - transaction.amount_due:
            errors.append(f"transaction {transaction.id}: change {transaction.change} != "
                          f"{transaction.received} − {transaction.amount_due}")
        if transaction.amount_due.is_negative():
            errors.append(f"transaction {transaction.id}: negative amount due")
    return errors


def check_one_payment_per_call(view: LedgerView) -> list[str]:
    """A call is paid at most once: every call is in at most one session (by its
    column), every session has at most one transaction, of its own cabin; a session is
    closed exactly when it is paid, and a paid session has no live calls."""
    errors = []
    sessions = {s.id: s for s in view.sessions}
    payments = Counter(t.session_id for t in view.transactions)
    for session_id, count in payments.items():
        if count > 1:
            errors.append(f"session {session_id} was paid {count} times")
    for transaction in view.transactions:
        paid = sessions.get(transaction.session_id)
        if paid is None:
            errors.append(f"transaction {transaction.id} pays unknown session "
                          f"{transaction.session_id}")
        elif paid.cabin_id != transaction.cabin_id:
            errors.append(f"transaction {transaction.id} is for cabin {transaction.cabin_id}, "
                          f"its session for cabin {paid.cabin_id}")
    for cabin_session in view.sessions:
        is_paid = payments[cabin_session.id] > 0
        if is_paid != (cabin_session.closed_at is not None):
            state = "closed but unpaid" if cabin_session.closed_at else "paid but open"
            errors.append(f"session {cabin_session.id} is {state}")
    for call in view.calls:
        if call.session_id is None:
            continue
        its_session = sessions.get(call.session_id)
        if its_session is None:
            errors.append(f"call {call.id} is in unknown session {call.session_id}")
            continue
        if its_session.cabin_id != call.cabin_id:
            errors.append(f"call {call.id} of cabin {call.cabin_id} is in session "
                          f"{its_session.id} of cabin {its_session.cabin_id}")
        if payments[call.session_id] and call.state.is_live:
            errors.append(f"call {call.id} is still {call.state.value} in paid session "
                          f"{call.session_id}")
    return errors


def check_one_open_session_per_cabin(view: LedgerView) -> list[str]:
    """At most one open session per cabin (the database's partial index, re-checked)."""
    open_by_cabin = Counter(s.cabin_id for s in view.sessions if s.closed_at is None)
    return [f"cabin {cabin_id} has {count} open sessions"
            for cabin_id, count in open_by_cabin.items() if count > 1]


def check_call_charges(view: LedgerView) -> list[str]:
    """A charged call has exactly one entry per paying level, of −cost on the shop's
    account and −provider_cost on a prepaid reseller's, and nothing elsewhere; only
    ended, answered, real calls are charged."""
    errors = []
    calls = {c.id: c for c in view.calls}
    levels = view.paying_levels()
    level_ids = {account.id for account, _ in levels}
    by_call: dict[int, list] = defaultdict(list)
    for entry in view.entries:
        if entry.kind is not EntryKind.CALL or entry.call_id is None:
            continue
        if entry.call_id in calls:
            by_call[entry.call_id].append(entry)
        elif entry.account_id == view.shop_account_id:
            # The reseller's account also carries its other shops' calls; the shop's
            # own account carries only this shop's.
            errors.append(f"entry {entry.id} charges call {entry.call_id}, not a call of "
                          f"this shop")
    for call_id, entries in sorted(by_call.items()):
        call = calls[call_id]
        if call.training or not call.answered or not call.state.is_final:
            errors.append(f"call {call_id} ({call.state.value}, answered={call.answered}, "
                          f"training={call.training}) must not be charged")
        for entry in entries:
            if entry.account_id not in level_ids:
                errors.append(f"call {call_id} was charged to account {entry.account_id}, "
                              f"which does not pay for this shop's calls")
        for account, column in levels:
            on_level = [e for e in entries if e.account_id == account.id]
            expected: Money = -getattr(call, column)
            if len(on_level) != 1:
                errors.append(f"call {call_id} has {len(on_level)} entries on account "
                              f"{account.id}, not 1")
            elif on_level[0].amount != expected:
                errors.append(f"call {call_id} was charged {on_level[0].amount} on account "
                              f"{account.id}, its {column} is {-expected}")
    return errors


def check_training_apart(view: LedgerView) -> list[str]:
    """Training never touches a balance, and practice and real cash never mix: training
    calls have no entries, a session's calls share its training flag, and so does its
    transaction."""
    errors = []
    training_calls = {c.id for c in view.calls if c.training}
    for entry in view.entries:
        if entry.call_id in training_calls:
            errors.append(f"training call {entry.call_id} moved account {entry.account_id} "
                          f"(entry {entry.id})")
    sessions = {s.id: s for s in view.sessions}
    for call in view.calls:
        cabin_session = sessions.get(call.session_id) if call.session_id else None
        if cabin_session is not None and cabin_session.training != call.training:
            errors.append(f"call {call.id} (training={call.training}) is in session "
                          f"{cabin_session.id} (training={cabin_session.training})")
    for transaction in view.transactions:
        cabin_session = sessions.get(transaction.session_id)
        if cabin_session is not None and cabin_session.training != transaction.training:
            errors.append(f"transaction {transaction.id} (training={transaction.training}) "
                          f"pays session {cabin_session.id} "
                          f"(training={cabin_session.training})")
    return errors


def check_profit(view: LedgerView) -> list[str]:
    """Profit = revenue − cost, where revenue is the sum of the paid calls' prices (and
    of the transactions' amounts due) and cost the sum of the charged calls' costs; and
    the report over two adjacent periods adds up to the report over both."""
    errors = []
    moments = sorted({t.created_at for t in view.transactions}
                     | {e.created_at for e in view.entries})
    periods: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    if moments:
        middle = moments[len(moments) // 2]
        periods += [(None, middle), (middle, None)]
    for since, until in periods:
        report = profit(view, since, until)
        revenue = _paid_call_prices(view, since, until)
        cost = _charged_call_costs(view, since, until)
        where = "overall" if since is None and until is None else f"in [{since}, {until})"
        if report.revenue != revenue:
            errors.append(f"revenue {where} is {report.revenue}, paid calls' prices sum "
                          f"to {revenue}")
        if report.cost != cost:
            errors.append(f"cost {where} is {report.cost}, charged calls' costs sum to {cost}")
        if report.profit != revenue - cost:
            errors.append(f"profit {where} is {report.profit}, revenue − cost is "
                          f"{revenue - cost}")
    if len(periods) == 3:
        whole, before, after = (profit(view, s, u) for s, u in periods)
        if whole.profit != before.profit + after.profit:
            errors.append(f"profit {whole.profit} overall is not the sum of its periods "
                          f"({before.profit} + {after.profit})")
    return errors


#: Every invariant of the ledger, in the order `check_all` runs them.
INVARIANTS: list[Validator] = [
    check_currency,
    check_prepaid_not_negative,
    check_balances_replay,
    check_topups,
    check_payments_equal_calls,
    check_change,
    check_one_payment_per_call,
    check_one_open_session_per_cabin,
    check_call_charges,
    check_training_apart,
    check_profit,
]


def check_all(view: LedgerView) -> list[str]:
    """Every error of every invariant, each prefixed with the validator's name."""
    errors = []
    for validator in INVARIANTS:
        try:
            found = validator(view)
        except Exception as exc:  # noqa: BLE001 - a view too broken to check is an error too
            found = [f"could not check: {type(exc).__name__}: {exc}"]
        errors += [f"{validator.__name__}: {error}" for error in found]
    return errors


def _calls_by_session(view: LedgerView) -> dict[int, list[CallView]]:
    calls_of: dict[int, list[CallView]] = defaultdict(list)
    for call in view.calls:
        if call.session_id is not None:
            calls_of[call.session_id].append(call)
    return calls_of


def _paid_call_prices(view: LedgerView, since: datetime | None,
                      until: datetime | None) -> Money:
    calls_of = _calls_by_session(view)
    prices = [call.billable_price
              for transaction in view.transactions
              if not transaction.training and in_period(transaction.created_at, since, until)
              for call in calls_of.get(transaction.session_id, [])]
    return money_sum(prices, view.currency)


def _charged_call_costs(view: LedgerView, since: datetime | None,
                        until: datetime | None) -> Money:
    charged_at = {e.call_id: e.created_at for e in view.entries
                  if e.account_id == view.shop_account_id and e.kind is EntryKind.CALL}
    costs = [call.cost for call in view.calls
             if not call.training and call.id in charged_at
             and in_period(charged_at[call.id], since, until)]
    return money_sum(costs, view.currency)
