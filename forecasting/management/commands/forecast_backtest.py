"""`manage.py forecast_backtest`: back-test the time-series model on the stored monthly bookings, or on any
series in a CSV file.

    manage.py forecast_backtest --horizon 3 --holdout 12 --format json
    manage.py forecast_backtest --csv orders.csv --date-column "Order Date" --value-column Sales --freq M

Protocol: for each origin from n−K to n−H, fit on the periods before it and forecast H; MAPE over all
forecast points, per candidate model and for seasonal naive (the value one season earlier). The candidate
with the lowest MAPE is chosen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from forecasting import timeseries as ts


class Command(BaseCommand):
    help = "Back-test the time-series forecast (MAPE per model and for seasonal naive) on stored bookings or a CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", type=Path, help="A CSV file (a byte-order mark is fine).")
        parser.add_argument("--date-column", default="date", help="Column of dates (YYYY-MM-DD or M/D/YYYY).")
        parser.add_argument("--value-column", default="value", help="Column of values, summed per period.")
        parser.add_argument("--freq", choices=sorted(ts.SEASON), default="M", help="M (monthly) or Q (quarterly).")
        parser.add_argument("--horizon", type=int, default=3, help="H: periods forecast from each origin.")
        parser.add_argument("--holdout", type=int, default=12, help="K: the first origin is n − K.")
        parser.add_argument("--models", default="", help=f"Comma-separated; default: {', '.join(ts.CANDIDATES)}.")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        freq = options["freq"]
        if options["csv"]:
            path: Path = options["csv"]
            if not path.exists():
                raise CommandError(f"{path} does not exist.")
            try:
                series = ts.read_csv_series(path, date_column=options["date_column"],
                                            value_column=options["value_column"], freq=freq)  # fmt: skip
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            source = f"{path.name}: {options['value_column']} by {options['date_column']}"
        else:
            from forecasting.services import monthly_bookings

            if freq != "M":
                raise CommandError("The stored bookings are monthly: use --freq M (or a --csv file).")
            # Stored bookings are Decimal; the back-test's models take floats.
            series = [(label, float(amount)) for label, amount in monthly_bookings(before=timezone.localdate())]
            source = "stored monthly bookings (won deals by close month)"
        models = [m.strip() for m in options["models"].split(",") if m.strip()] or list(ts.CANDIDATES)
        unknown = [m for m in models if m not in ts.CANDIDATES]
        if unknown:
            raise CommandError(f"Unknown model(s) {', '.join(unknown)}; choose from {', '.join(ts.CANDIDATES)}.")
        values = [v for _, v in series]
        try:
            mapes = ts.backtest(values, horizon=options["horizon"], holdout=options["holdout"], models=models,
                                season=ts.SEASON[freq])  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        chosen = ts.choose(mapes)
        if options["format"] == "json":
            payload = {"models": {name: {"mape": round(value, 4)} for name, value in mapes.items()}, "chosen": chosen}
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"{source}: {len(values)} periods, {series[0][0]} … {series[-1][0]}" if series else source)
        self.stdout.write(f"H={options['horizon']}, K={options['holdout']}")
        for name, value in sorted(mapes.items(), key=lambda kv: kv[1]):
            self.stdout.write(f"  {name:<16} MAPE {value:6.2f} %")
        naive = mapes["seasonal_naive"]
        gain = 100 * (naive - mapes[chosen]) / naive if chosen in mapes and naive else 0.0
        self.stdout.write(f"chosen: {chosen} ({gain:.1f} % lower MAPE than seasonal naive)")
