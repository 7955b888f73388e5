from django.db import models


class World(models.Model):
    random_number = models.IntegerField(db_column="randomnumber")

    class Meta:
        db_table = "world"
        managed = False


class Fortune(models.Model):
    message = models.CharField(max_length=2048)

    class Meta:
        db_table = "fortune"
        managed = False
