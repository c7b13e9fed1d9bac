"""Hand-written word lists for telling apart short replies in Latin-script languages.

Each list contains the function words and the feedback vocabulary (quality, speed, price,
support, installation, thanks, complaints) that customers use most when they explain a
score in a few words. The lists are written from general knowledge of each language, not
extracted from any corpus. Words are lower case, and accents may be left out because
``flows.language`` compares tokens with their accents removed. A word may appear in more
than one list: shared words then count as weaker evidence for each of those languages.

IT loanwords that customers type in every language (support, update, bug, app, top) are
listed in ``LOANWORDS`` and ignored as evidence.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Keys are supported locales. The "hi" list is Hindi written in Latin letters ("Hinglish"),
# which many chat users in India type instead of Devanagari.
LEXICONS: dict[str, frozenset[str]] = {
    "en": _words(
        """
        the a an and but or not no is are was were be been it it's its this that these to of
        for in on at with from by as so too very just really quite pretty also still again
        i i'm i've my me we our us you your they their he she them
        don't doesn't didn't can't cannot won't isn't wasn't aren't couldn't
        do does did have has had get got can could would should will
        good great nice awesome terrible awful bad poor worse worst better best fine solid
        slow slower fast faster quick easy easier hard difficult simple complicated confusing
        expensive cheap pricey price pricing cost costs value money
        works work working worked broken crash crashes crashing freezes
        love like liked hate helpful useless reliable stable
        thanks thank please issue issues problem problems missing feature features
        customer service response answer reply time days hours support's
        setup install installed installation recommend recommended would
        everything nothing something always never sometimes often lot lots much many
        more less than because since after before when what why how there here
        keeps stopped needs need want wish
        all any some only even ever well way which who if then out up about other every
        make made use used think overall though worth cheaper happy satisfied disappointed
        complaints
        """
    ),
    "es": _words(
        """
        el la los las un una unos unas y o a no pero que de del en con por para sin al lo le
        les
        se su sus mi mis me nos nuestro nuestra es son fue era está esta están estan hay
        muy mucho mucha muchos muchas demasiado demasiada poco poca más mas menos
        bueno buena buen buenos malo mala mal mejor peor excelente genial
        lento lenta lentos rápido rapido rápida rapida caro cara caros barato barata precio
        soporte servicio atención atencion cliente clientes respuesta tarda tardan
        funciona funcionan anda falla fallas error errores problema problemas
        todo todos nada algo siempre nunca veces vez ahora ya aún aun también tambien
        gusta gustó gusto encanta encantó recomiendo recomendaría recomendable
        fácil facil difícil dificil complicado sencillo gracias falta faltan tiene tienen
        instalar instalación instalacion configurar actualización actualizacion
        herramienta equipo porque cuando como donde solo hace usar uso
        bien ser estar puede pueden quiero mismo otra otro cada desde hasta entre sobre tan
        así ni yo usted ustedes este ese eso esto aquí verdad semana días contento
        satisfecho queja quejas cuesta vale pena hacer licencia sesión informe informes
        nuevo nueva cuenta ayuda
        """
    ),
    "pt_BR": _words(
        """
        o os a as um uma uns umas e ou mas que de do da dos das no na nos nas em com por
        para pra sem ao se seu sua meu minha nosso nossa é são foi era está esta estão tá
        tem têm muito muita muitos muitas demais pouco pouca mais menos
        bom boa bons ótimo otimo ótima otima ruim péssimo pessimo melhor pior excelente
        lento lenta rápido rapido rápida rapida caro cara barato barata preço preco
        suporte serviço servico atendimento cliente clientes resposta demora demoram
        funciona funcionam trava travando travou erro erros problema problemas
        tudo todos nada algo sempre nunca vez vezes agora já ainda também tambem
        gostei gosto adoro amei recomendo recomendaria
        fácil facil difícil dificil complicado simples obrigado obrigada valeu falta faltam
        instalar instalação instalacao configurar atualização atualizacao
        ferramenta equipe porque quando como onde só usar uso pesado não nao você voce
        vocês voces
        bem ser estar pode podem quero queria mesmo outra outro cada desde até entre sobre
        tão assim nem eu ele ela eles isso esse essa este isto aqui fica ficou fazer faz
        então dia dias semana contente satisfeito reclamar reclamação vale pena ajuda
        licença sessão relatório relatórios novo nova conta consigo consegue
        """
    ),
    "de": _words(
        """
        der die das den dem des ein eine einen einem einer und oder aber nicht kein keine
        ist sind war waren hat haben wird werden kann könnte sehr zu für mit von vom im
        auf bei nach aus auch noch schon nur immer nie oft manchmal mehr weniger viel viele
        ich wir uns man mir mein unser sie es
        gut gute guter gutes schlecht schlechter besser toll prima klasse
        langsam schnell teuer günstig billig preis preise kosten
        kundenservice kundendienst hilfe antwort läuft funktioniert geht
        fehler problem probleme absturz abstürze
        alles nichts danke bitte leider einfach schwierig kompliziert umständlich
        zufrieden unzufrieden empfehlen empfehlenswert fehlt gibt installation
        seit jahren ohne wenn weil wie was warum lizenz oberfläche einrichtung
        ganz gar sein wäre wären würde sollte muss hier jetzt dann mal doch sich mich
        ihr ihre unsere zum zur beim ins am um über durch bis etwas wieder dauert lange
        schön schade klappt nervig lizenzen berichte programm rechner stabil
        """
    ),
    "fr": _words(
        """
        le la les un une des du de et ou mais pas ne est sont était a ont très tres trop
        pour avec sans dans sur en au aux aussi encore déjà seulement que qui
        je nous on vous il elle ils ça ca ce cette mon notre
        bon bonne bien mauvais mauvaise mieux pire excellent génial nul parfait
        lent lente rapide cher chère chers prix coût
        service client clients réponse répondre marche fonctionne plante
        erreur problème problèmes souci soucis
        tout tous rien toujours jamais souvent beaucoup peu plus moins
        merci facile difficile compliqué simple dommage malheureusement
        satisfait satisfaite content recommande recommanderais manque
        installer installation mise jour logiciel outil équipe depuis quand parce comme
        être avoir fait faire peut peuvent veux voudrais même autre chaque entre sous moi
        lui leur nos vos ces cet ici là maintenant puis alors donc car vraiment assez temps
        jours semaine rapport rapports licence ordinateur appli coûte bravo nickel correct
        """
    ),
    "id": _words(
        """
        dan yang di ke dari ini itu tidak nggak gak ga enggak tapi tetapi namun atau
        sangat sekali banget terlalu sudah udah belum masih bisa ada untuk dengan pada
        saya kami kita aku kalian mereka
        bagus baik jelek buruk lambat lemot cepat mahal murah harga biaya
        pelayanan layanan dukungan bantuan respon jawaban
        mudah gampang susah sulit ribet puas kecewa mantap keren
        terima kasih makasih tolong mohon lebih kurang sering jarang selalu
        aplikasi produk fitur masalah banyak sedikit agak cukup jadi karena kalau juga lagi
        setelah sebelum saat pakai dipakai pakainya digunakan
        aja saja sih dong deh kok nih tuh semua sendiri pernah lama baru hari minggu bulan
        tahun waktu mau ingin pengen perlu harus buat bikin laporan lisensi keluhan balas
        bantu membantu stabil
        """
    ),
    "tr": _words(
        """
        ve ama fakat çok bir bu şu için ile daha en de da mi mı değil yok var
        iyi kötü güzel harika mükemmel berbat başarılı
        yavaş hızlı pahalı ucuz fiyat fiyatı fiyatlar
        destek hizmet hizmeti müşteri cevap yanıt
        kolay zor karmaşık sorun sorunlu hata hatalar
        memnun memnunum teşekkürler teşekkür sağol sağolun tavsiye ederim
        hiç biraz fazla olarak oldu olan gayet sonra önce her şey
        ben biz bence bize bizim ürün program kurulum güncelleme arayüz
        çalışıyor çalışmıyor
        olsa olur olabilir gibi kadar sadece hep artık hala şimdi bile mu mü ne neden nasıl
        bunu bunlar şikayet şikayetim lisans rapor raporlar uygulama sürekli geç hemen
        yardım yardımcı ilgili lütfen stabil
        """
    ),
    "hi": _words(
        """
        hai hain tha thi nahi nahin nhi bahut bohot accha acha achha theek thik kya kyun
        bhi aur ke ka ki ko mein se bilkul bekar bakwas zyada jyada sahi galat dikkat
        mehenga mehnga sasta jaldi dhire raha rahi hota karo kiya diya wala wali
        """
    ),
}

# IT and chat loanwords typed in every language, so they are no evidence of a language.
LOANWORDS: frozenset[str] = _words(
    """
    ok okay oke okey support update updates upgrade bug bugs app apps dashboard team top
    super error software admin admins online email login scan scans vpn sso cpu ram ui
    server servers cloud laptop pc mac windows linux feedback cool
    """
)

# Control replies that are no evidence of the respondent's language: yes/no in the
# supported Latin-script languages, and the SMS opt-out words that a prompt asks people
# to type verbatim. ``flows.language`` adds the keyword lists of the message catalogs.
CONTROL_WORDS: frozenset[str] = _words(
    """
    ok okay oke okey k kk y n yes yeah yep yup no nope nah si sí sim não nao ja jep nein
    oui ouais non ya iya tidak enggak evet hayır hayir tamam
    stop start help info skip cancel unsubscribe
    """
)
