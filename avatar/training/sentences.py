"""English sentences for the synthetic training corpus: deterministic, varied, and rich in visible articulation.

`sentences()` fills hand-written templates from hand-written word lists (no external text). The mix covers
statements, questions and exclamations; numbers, prices, times and years spelled out as words (so the spoken
text and the aligned transcript agree word for word); people's names and places; content for each of the eight
emotions and plenty of neutral, everyday content. The word lists lean on what the face must learn to show:
bilabials (P/B/M: "bring the big map"), labiodentals (F/V: "five vivid violins"), open vowels ("father",
"hot", "car") and rounded vowels ("blue", "moon", "boat", "who"). Every sentence has 5-22 words; 1400 of them
(the default) take well over an hour to speak at a normal rate (about 4 s each with the default voice).
"""

from __future__ import annotations

import re

import numpy as np

MIN_WORDS, MAX_WORDS = 5, 22
DEFAULT_COUNT = 1400

NAMES = (
    "Maria", "Bob", "Paul", "Emma", "Ben", "Mike", "Victor", "Fiona", "Molly", "Peter", "Oliver", "Sophie", "Lucas",
    "Ava", "Noah", "Mia", "Oscar", "Ruby", "Hugo", "Luna", "Felix", "Zoe", "Arthur", "Bella", "Max", "Vera", "Omar",
    "Tom", "June", "Frank", "Nora", "Walter", "Grace", "Leo", "Iris", "Boris", "Pamela", "Marco", "Ruth", "Moira",
    "Bruno", "Olivia", "Wendy", "Robert", "Judy", "Harold", "Lola", "Matthew", "Phoebe", "Samuel",
)
RELATIVES = ("mother", "father", "brother", "sister", "grandmother", "grandfather", "uncle", "aunt", "cousin",
             "best friend", "neighbor", "boss", "old teacher", "roommate")
PLACES = (
    "the market", "the train station", "the museum", "the office", "the harbor", "the library", "the park",
    "the bakery", "Boston", "Paris", "Madrid", "Rome", "Tokyo", "Moscow", "Bombay", "Oslo", "Buffalo", "Cuba",
    "the beach", "the mountains", "the old farm", "the cafe", "the swimming pool", "the zoo", "the post office",
    "the movie theater", "the hospital", "the food court", "the playground", "the bus stop", "the bookshop",
    "the river", "the airport", "the garden", "the school", "the hotel lobby", "the pharmacy", "the opera house",
    "the boat club", "the football field",
)
THINGS = (
    "the blue box", "a map of the city", "my phone", "the purple umbrella", "the old violin", "a box of mangoes",
    "the broom", "two movie tickets", "the bike", "the photo album", "a bowl of soup", "the rubber boots",
    "a wooden spoon", "the van keys", "a bottle of milk", "the moon globe", "the paper bag", "my passport",
    "the baby blanket", "a basket of plums", "the vacuum cleaner", "the big mirror", "the piano book",
    "the football", "a few balloons", "the blue notebook", "the broken lamp", "my favorite mug", "the fruit bowl",
    "the brown jacket", "a pot of coffee", "the flower vase", "the back door key", "the bamboo chair",
    "a bag of potatoes", "the tool box", "the maple table", "the woolen scarf", "the moving boxes", "the laptop",
)
FOODS = (
    "pizza", "mushroom soup", "blueberry muffins", "baked potatoes", "fish and chips", "banana bread",
    "fruit salad", "pumpkin pie", "spaghetti", "popcorn", "noodles", "waffles", "falafel", "tomato soup",
    "beef stew", "apple pie", "pancakes", "vegetable curry", "lemon cake", "garlic bread", "roast chicken",
    "plum jam", "boiled eggs", "French toast",
)
ANIMALS = ("dog", "cat", "horse", "parrot", "goldfish", "rabbit", "pony", "hamster", "turtle", "puppy", "goat")
VEHICLES = ("car", "bus", "boat", "van", "motorbike", "train", "truck", "scooter")
ROOMS = ("basement", "hallway", "attic", "barn", "bathroom", "garage", "forest", "parking lot", "boat house")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
JOBS = ("baker", "plumber", "doctor", "pilot", "farmer", "painter", "boxer", "violinist", "photographer",
        "vet", "firefighter", "museum guide", "movie producer", "professor")
GIFTS = ("scarf", "bracelet", "painting", "watch", "book of poems", "music box", "photo frame", "perfume")
GOOD = ("wonderful", "beautiful", "fantastic", "marvelous", "perfect", "brilliant", "lovely", "amazing",
        "fabulous", "superb", "awesome")
BAD = ("awful", "horrible", "boring", "miserable", "terrible", "foolish", "pathetic", "dreadful", "useless")
WEATHER = ("rain", "fog", "snow", "wind", "sunshine", "thunder", "frost", "heat")
SPORTS = ("football", "volleyball", "boxing", "swimming", "baseball", "bowling", "pool", "hockey")
OPENERS = ("", "", "", "", "Well, ", "Oh, ", "Honestly, ", "By the way, ", "You know, ", "Look, ", "So, ",
           "Apparently, ", "Frankly, ", "Hmm, ")
QUESTION_OPENERS = ("", "", "", "So, ", "Well, ", "By the way, ", "Hmm, ", "Tell me, ", "Oh, ")
_NO_OPENER = ("Please", "Turn", "Mix", "Boil", "Move", "Stop", "Get", "Hurry", "Watch", "Look", "Oh", "Wow", "Ugh",
              "Yuck", "Enough", "What?", "Really?", "No way", "Whoa", "Seriously?", "Sure", "Fine", "Nice")
ENDINGS = ("", "", "", " today", " this morning", " again", " last night", " for the first time", " after all",
           " on purpose", " by mistake")

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> str:
    """An integer 0-999999 in English words ("four hundred and twelve")."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number_words handles 0-999999, not {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    tail = "" if rest == 0 else (" and " if rest < 100 else " ") + number_words(rest)
    return number_words(n // 1000) + " thousand" + tail


def year_words(year: int) -> str:
    """A year as it is said: 1987 -> "nineteen eighty seven", 2005 -> "two thousand and five"."""
    if 2000 <= year < 2010:
        return number_words(year)
    high, low = divmod(year, 100)
    if low == 0:
        return number_words(high) + " hundred"
    return number_words(high) + " " + (("oh " + _ONES[low]) if low < 10 else number_words(low))


def _time_words(rng: np.random.Generator) -> str:
    """A clock time in words: "half past four", "a quarter to nine", "seven fifteen", "noon"."""
    hour = _ONES[int(rng.integers(1, 13))]
    kind = int(rng.integers(6))
    if kind == 0:
        return f"half past {hour}"
    if kind == 1:
        return f"a quarter to {hour}"
    if kind == 2:
        return f"{hour} o'clock"
    if kind == 3:
        return f"{hour} {number_words(int(rng.choice([5, 10, 15, 20, 25, 35, 40, 45, 50, 55])))}"
    return "noon" if kind == 4 else "midnight"


def _price_words(rng: np.random.Generator) -> str:
    """A price in words: "forty nine dollars and ninety five cents"."""
    dollars = int(rng.choice([int(rng.integers(2, 20)), int(rng.integers(20, 100)), int(rng.integers(100, 2000))]))
    cents = int(rng.choice([0, 50, 99, 95, 25, int(rng.integers(1, 99))]))
    text = f"{number_words(dollars)} dollars"
    return text + (f" and {number_words(cents)} cents" if cents else "")


def _digits_words(rng: np.random.Generator, n: int) -> str:
    """A digit string read digit by digit, with "oh" for some zeros, as phone numbers are read."""
    digits = rng.integers(0, 10, n)
    return " ".join(("oh" if d == 0 and rng.random() < 0.5 else _ONES[int(d)]) for d in digits)


# Templates: {slot} is filled from the lists above (two of one kind: {name2}, {place2}, ...). A few slots are
# computed: {number} (a count), {big} (a large number), {year}, {time}, {price}, {digits}.
STATEMENTS = (
    "{name} usually takes the {vehicle} to {place} on {weekday}.",
    "The meeting starts at {time} in room {number}.",
    "Turn left at {place} and walk for about {number} minutes.",
    "{place_cap} opens at {time} on weekdays and stays open until {time2}.",
    "My {relative} bought {thing} at {place}{ending}.",
    "We moved to {place} in {month} {year}.",
    "{name} works as a {job} near {place}.",
    "There were {number} people waiting outside {place} this morning.",
    "The forecast says we will get {weather} in {place} on {weekday}.",
    "Please put {thing} back in the cupboard when you are done.",
    "{name} and {name2} play {sport} every {weekday} evening.",
    "The bus to {place} leaves every {number} minutes from platform {small}.",
    "I left {thing} on the table next to {thing2}.",
    "{name} was born in {place} in {year}.",
    "The new museum has more than {big} paintings from all over the world.",
    "Our flight number is {digits3}, and it boards at {time}.",
    "My phone number is {digits7}, but I rarely pick up.",
    "The whole trip cost us {price}.",
    "The library lends books, movies and maps for up to {small} weeks.",
    "Mix two cups of flour with a spoonful of butter and a pinch of salt.",
    "Boil the potatoes for about {number} minutes before you mash them.",
    "The {job} from {place} gave a talk about {food} and farming.",
    "We usually have {food} for dinner on {weekday}.",
    "A big brown {animal} was sleeping in front of the post office.",
    "{name}'s {animal} is {small} years old and still very playful.",
    "The movie about the moon landing lasts about two hours.",
    "The room on the fourth floor has a view of {place}.",
    "In {month}, the river by the old farm is full of boats.",
    "The train from {place} arrives at {time}, five minutes late as usual.",
    "Every box in the van has a number painted on the front.",
    "{name} folded the blue blanket and put it in the box.",
    "The baker opens the shop at five and sells fresh muffins.",
    "You can pay by phone, by card or with cash.",
    "The score was {small} to {small2} at half time.",
    "I have been learning the violin for {small} years now.",
    "The population of the town is about {big} people.",
    "{name} fixed the roof of the barn with {name2}'s help.",
    "My {relative} lives in a small flat above {place}.",
    "We need {small} more volunteers for the food bank on {weekday}.",
    "The bridge over the river was built in {year}.",
)
QUESTIONS = (
    "Could you pass me {thing}, please?",
    "Where did {name} put {thing}?",
    "Why would anyone move {thing} to {place}?",
    "Have you ever been to {place} in {month}?",
    "What time does {place} open on {weekday}?",
    "Do you want {food} or {food2} for dinner tonight?",
    "Who left {thing} by the back door?",
    "How many people live in {place} these days?",
    "Is it true that {name} is moving to {place}?",
    "Would you mind if I borrowed {thing} for a few days?",
    "When was the last time you called your {relative}?",
    "Can you remember where we parked the {vehicle}?",
    "How much did you pay for {thing}?",
    "Is the {job} coming on {weekday} or on {weekday2}?",
    "Which bus goes to {place} from here?",
    "Did {name} really eat all of the {food}?",
    "What do you think about the new {job} at {place}?",
    "Why is the {animal} sitting on {thing}?",
    "Shall we meet in front of {place} at {time}?",
    "Are you sure the shop accepts payment by phone?",
    "How long does it take to walk to {place}?",
    "Do you know anybody who plays {sport} in {place}?",
    "Was it {name} or {name2} who found the map?",
    "Could you move your {vehicle}, please? It is blocking the gate.",
    "What would you do with {big} dollars?",
)
EXCLAMATIONS = (
    "What a {good} view of {place}!",
    "Wow, this {food} is {good}!",
    "Hurry up, the {vehicle} to {place} leaves in {small} minutes!",
    "Happy birthday, {name}! You look {good}!",
    "Watch out, the floor by the pool is wet!",
    "Move, move, the {vehicle} is coming!",
    "Bravo, {name}! That was a {good} performance!",
    "Oh boy, I forgot my passport at {place}!",
    "Look at the full moon above the boats!",
    "Stop, please stop, you will wake the baby!",
)
EMOTIONAL = {
    "happiness": (
        "I am so happy that {name} finally came home!",
        "This is the best day of my whole life!",
        "We won the football match, and I can't stop smiling!",
        "Oh, {name}, this {gift} is absolutely {good}!",
        "I passed the exam, and now we can go to {place} to celebrate!",
        "My {relative} is coming to visit in {month}, I can't wait!",
        "What a {good} surprise, thank you all so much!",
        "The baby laughed for the first time this morning, it was wonderful!",
        "We are getting married in {month}, and you are all invited!",
        "I love the smell of {food} on a Sunday morning.",
    ),
    "anger": (
        "Stop moving {thing} without asking me first!",
        "How many times do I have to tell you, {name}?",
        "I am furious that the {vehicle} broke down again!",
        "Don't you dare blame me for the broken mirror!",
        "You promised to pay me back by {weekday}, and you didn't!",
        "Get your muddy boots off my carpet right now!",
        "This is the fourth time the bank has lost my papers!",
        "I have been waiting for {number} minutes, and nobody cares!",
        "Who gave you permission to open my mail?",
        "Enough! I will not repeat myself, {name}!",
    ),
    "sadness": (
        "I miss my {relative} so much, every single day.",
        "Nobody came to the party, so I went home alone.",
        "Our old {animal} passed away last night in its sleep.",
        "I really thought we would move to {place} together.",
        "The farm was sold, and the barn is going to be pulled down.",
        "I lost my job at {place} on {weekday}.",
        "She left without saying goodbye, not even a word.",
        "It has been {small} years since we last spoke.",
        "I keep looking at the photo album and crying.",
        "The house feels so empty now that {name} is gone.",
    ),
    "fear": (
        "Please, don't leave me alone in the dark {room}!",
        "Did you hear that noise behind the door?",
        "I'm afraid the bridge might fall into the river.",
        "Something is moving in the bushes, {name}, run!",
        "The brakes of the {vehicle} are not working!",
        "What if the plane never arrives in {place}?",
        "I think somebody is following us from the bus stop.",
        "The water is rising fast, we have to move to the roof!",
        "My hands are shaking, I can't open the box.",
        "Who is there? I can see your shadow on the wall!",
    ),
    "disgust": (
        "Ugh, the milk smells awful, throw it away!",
        "There is mold all over the {food}, that's revolting.",
        "Who left a dead mouse in the bathroom?",
        "The floor of the bus was covered in sticky purple goo.",
        "I can't believe you ate a worm for five dollars.",
        "The fridge at the office smells like rotten fish.",
        "Yuck, there's a hair in my {food}!",
        "The pond behind the farm is full of muddy foam.",
        "Please wipe your mouth, there is mustard on your chin.",
        "That bathroom is the filthiest place I have ever seen.",
    ),
    "surprise": (
        "Wow, I never expected to see you in {place}!",
        "You bought a boat? Since when?",
        "No way, {name} is moving to {place}?",
        "Really? The museum is free on {weekday}?",
        "Oh my goodness, you painted the whole house by yourself?",
        "What? The {vehicle} was here a minute ago!",
        "I can't believe it, {name} won the lottery!",
        "You are {name}'s brother? I had no idea!",
        "Whoa, look how big the moon is tonight!",
        "Seriously? The concert is sold out already?",
    ),
    "contempt": (
        "Oh please, as if {name} could ever fix a {vehicle}.",
        "That is the most pathetic excuse I have ever heard.",
        "He calls himself a {job}, but he can't even boil an egg.",
        "Sure, buy another useless gadget, that will solve everything.",
        "I suppose that is what passes for music these days.",
        "Your so called plan is a total waste of my time.",
        "Nice try, but nobody believes a word you say.",
        "Of course the boss's favorite gets the big office.",
        "Fine, do it your way, and see what happens.",
        "I wouldn't expect anything better from {name}.",
    ),
}
# Extra phrases that pack bilabials, labiodentals and rounded or open vowels, for the lip-sync.
ARTICULATION = (
    "Bring the big blue map to {name} before {time}.",
    "Five vivid violins filled the vast old hall.",
    "Mom put the moving boxes by the back porch.",
    "Who knew the new moon would look so blue?",
    "The father of the bride wore a warm brown coat.",
    "Bob bought a bag of plums at the farmers market.",
    "Move the van forward a few feet, please.",
    "Paul often plays the flute for the people upstairs.",
    "The boat floated slowly over the smooth pool.",
    "Maybe we should buy more bread and butter for breakfast.",
    "Fifty five fluffy puppies fell fast asleep.",
    "Ruth loves the view from the roof of the old school.",
    "A hot cup of coffee is all I want on a cold car ride.",
    "Vivian moved to Moscow to be a movie producer.",
    "My brother prefers boiled potatoes with plenty of pepper.",
    "Who put the balloons in the blue room?",
    "Father parked the car far from the barn.",
    "Bubbles floated above the bath like tiny moons.",
    "Please move the heavy marble vase off the piano.",
    "Four famous folk bands performed at the festival.",
)


def _fill(template: str, rng: np.random.Generator) -> str:
    """One template filled from the word lists; two slots of one kind get different values."""
    used: dict[str, set[str]] = {}

    def pick(kind: str, options) -> str:
        seen = used.setdefault(kind, set())
        choices = [o for o in options if o not in seen] or list(options)
        value = str(choices[int(rng.integers(len(choices)))])
        seen.add(value)
        return value

    def slot(match: re.Match) -> str:
        key = match.group(1)
        base = key.rstrip("0123456789").removesuffix("_cap")
        lists = {"name": NAMES, "relative": RELATIVES, "place": PLACES, "thing": THINGS, "food": FOODS,
                 "animal": ANIMALS, "vehicle": VEHICLES, "room": ROOMS, "weekday": WEEKDAYS, "month": MONTHS,
                 "job": JOBS, "gift": GIFTS, "good": GOOD, "bad": BAD, "weather": WEATHER, "sport": SPORTS,
                 "ending": ENDINGS}
        if base in lists:
            value = pick(base, lists[base])
        elif base == "number":
            value = number_words(int(rng.choice([int(rng.integers(2, 20)), int(rng.integers(20, 100))])))
        elif base == "small":
            value = number_words(int(rng.integers(2, 13)))
        elif base == "big":
            value = number_words(int(rng.integers(1, 1000)) * int(rng.choice([10, 100, 1000])))
        elif base == "year":
            value = year_words(int(rng.integers(1950, 2025)))
        elif base == "time":
            value = _time_words(rng)
        elif base == "price":
            value = _price_words(rng)
        elif base == "digits":
            value = _digits_words(rng, int(key.removeprefix("digits") or 4))
        else:
            raise KeyError(f"unknown template slot {{{key}}}")
        return value[0].upper() + value[1:] if key.endswith("_cap") else value

    return re.sub(r"\{(\w+)\}", slot, template)


def _decorate(text: str, rng: np.random.Generator) -> str:
    """Sometimes prefix an opener ("Well, ...") to a sentence, for more varied phrasing."""
    openers = QUESTION_OPENERS if text.endswith("?") else OPENERS
    opener = openers[int(rng.integers(len(openers)))]
    if not opener or text.startswith(NAMES + _NO_OPENER):
        return text
    first = text.split()[0]
    keep = first == "I" or first.startswith("I'")  # "I" stays capital
    return opener + (text if keep else text[0].lower() + text[1:])


def _groups() -> list[tuple[str, tuple[str, ...]]]:
    """Template groups with their kind, drawn round robin so every kind is well represented."""
    groups = [("statement", STATEMENTS), ("question", QUESTIONS), ("exclamation", EXCLAMATIONS),
              ("articulation", ARTICULATION)]
    return groups + [(emotion, templates) for emotion, templates in EMOTIONAL.items()]


def sentence_records(count: int = DEFAULT_COUNT, seed: int = 0) -> list[tuple[str, str]]:
    """`count` distinct (kind, sentence) pairs; the kind is a template group or the emotion it expresses."""
    rng = np.random.default_rng(seed)
    # Weights per group: everyday content dominates, each emotion gets a fair share.
    weights = {"statement": 4.0, "question": 3.0, "exclamation": 1.0, "articulation": 1.5}
    groups = _groups()
    p = np.array([weights.get(kind, 0.9) for kind, _ in groups])
    p /= p.sum()
    seen: set[str] = set()
    records: list[tuple[str, str]] = []
    attempts = 0
    while len(records) < count:
        attempts += 1
        if attempts > 200 * count:
            raise RuntimeError(f"could not make {count} distinct sentences from the templates; ask for fewer")
        kind, templates = groups[int(rng.choice(len(groups), p=p))]
        text = _fill(templates[int(rng.integers(len(templates)))], rng)
        if kind in ("statement", "question") or rng.random() < 0.2:
            text = _decorate(text, rng)
        n_words = len(text.split())
        if text in seen or not MIN_WORDS <= n_words <= MAX_WORDS:
            continue
        seen.add(text)
        records.append((kind, text))
    return records


def sentences(count: int = DEFAULT_COUNT, seed: int = 0) -> list[str]:
    """`count` distinct English sentences of 5-22 words, the same list for the same count and seed."""
    return [text for _, text in sentence_records(count, seed)]
