"""What the constructed recordings say, written out.

Why written out and not generated: a reference transcript must be exactly what was spoken, identical on every
machine, and varied enough to be real speech. The English turns reuse the throughput corpus's topic sentences
(`vidscribe.app.bench.scripts.TOPICS`); the short replies are the turns diarization and word attribution find
hardest (a one-word "Yes." between two long turns). No digits anywhere: espeak reads them its own way, and
the reference must be what is heard.
"""

from __future__ import annotations

#: very short replies: a second or less of speech, the turns a 1 s smoothing window can swallow
SHORT_REPLIES = (
    "Yes.",
    "Right, exactly.",
    "Really?",
    "I see.",
    "Of course.",
    "No, not at all.",
    "Sure.",
    "Good point.",
    "Exactly.",
    "Okay.",
)

#: German sentences (espeak-ng voice `de`) for the mixed-language clip: about thirty seconds in all
GERMAN = (
    "Heute sprechen wir über das Wetter in den Bergen und die besten Wanderwege im Sommer.",
    "Am frühen Morgen ist die Luft noch kühl, und die Sonne scheint über den Gipfeln.",
    "Man sollte immer genug Wasser mitnehmen, denn der Aufstieg dauert oft mehrere Stunden.",
    "Oben auf der Hütte gibt es eine warme Suppe und einen herrlichen Blick über das Tal.",
    "Wenn am Nachmittag Gewitter kommen, muss man rechtzeitig wieder absteigen.",
    "Viele Familien verbringen ihre Ferien jedes Jahr in derselben kleinen Pension am See.",
)

#: French sentences (espeak-ng voice `fr`) for the multilingual monologue: about forty-five seconds
FRENCH = (
    "Aujourd'hui nous parlons du pain, qui est au centre de chaque repas en France.",
    "Un bon pain demande seulement de la farine, de l'eau, du sel et un peu de levure.",
    "Le boulanger commence son travail très tôt, bien avant le lever du soleil.",
    "La pâte doit reposer longtemps pour développer son goût et sa belle croûte dorée.",
    "Chaque quartier a sa boulangerie, et les habitants y achètent une baguette tous les jours.",
    "Le dimanche matin, on fait souvent la queue devant la boutique pour les croissants.",
    "Certains préfèrent le pain de campagne, plus dense, qui se garde plusieurs jours.",
    "Enfin, rien ne remplace l'odeur du pain chaud qui sort du four.",
)
