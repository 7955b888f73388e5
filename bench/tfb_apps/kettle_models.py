"""The two TechEmpower tables as Kettle models, declared the way docs/database.md teaches.

The tables exist already (tfb_db.py creates them), so there is no migration; the column
of `World.random_number` keeps the specification's name, `randomnumber`.
"""

from kettle.db import Model, fields


class World(Model):
    random_number: int = fields.integer(name="randomnumber")


class Fortune(Model):
    message: str = fields.string(max_length=2048)
