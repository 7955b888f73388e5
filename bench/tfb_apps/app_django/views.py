import random
from operator import attrgetter

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from app_django.models import Fortune, World

ADDITIONAL = "Additional fortune added at request time."


def query_count(request) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(request.GET.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


def random_world() -> World:
    return World.objects.get(id=random.randint(1, 10_000))


def plaintext(request):
    return HttpResponse(b"Hello, World!", content_type="text/plain")


def json_hello(request):
    return JsonResponse({"message": "Hello, World!"})


def single_query(request):
    world = random_world()
    return JsonResponse({"id": world.id, "randomNumber": world.random_number})


def multiple_queries(request):
    worlds = [random_world() for _ in range(query_count(request))]
    return JsonResponse([{"id": w.id, "randomNumber": w.random_number} for w in worlds], safe=False)


def fortunes(request):
    rows = list(Fortune.objects.all())
    rows.append(Fortune(id=0, message=ADDITIONAL))
    rows.sort(key=attrgetter("message"))
    return render(request, "fortunes.html", {"fortunes": rows})


def updates(request):
    worlds = [random_world() for _ in range(query_count(request))]
    for world in worlds:
        world.random_number = random.randint(1, 10_000)
    World.objects.bulk_update(sorted(worlds, key=attrgetter("id")), ["random_number"])
    return JsonResponse([{"id": w.id, "randomNumber": w.random_number} for w in worlds], safe=False)
