<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr" sourcelanguage="en">
<context>
    <name>AutoReceipt</name>
    <message>
        <source>The receipt was not printed: it could not be fetched from the server (%1). The payment is recorded.</source>
        <translation>Le ticket n&apos;a pas été imprimé&#xa0;: il n&apos;a pas pu être obtenu du serveur (%1). Le paiement est enregistré.</translation>
    </message>
</context>
<context>
    <name>CabinTile</name>
    <message>
        <source>Free</source>
        <translation>Libre</translation>
    </message>
    <message>
        <source>In use</source>
        <translation>Occupée</translation>
    </message>
    <message>
        <source>To pay</source>
        <translation>À payer</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>Désactivée</translation>
    </message>
    <message>
        <source>No line</source>
        <translation>Sans ligne</translation>
    </message>
    <message>
        <source>Dialing</source>
        <translation>Numérotation</translation>
    </message>
    <message>
        <source>Ringing</source>
        <translation>Sonnerie</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>En ligne</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>Terminé</translation>
    </message>
    <message>
        <source>Not answered</source>
        <translation>Sans réponse</translation>
    </message>
    <message>
        <source>Cut</source>
        <translation>Coupé</translation>
    </message>
    <message>
        <source>Pay</source>
        <translation>Encaisser</translation>
    </message>
    <message>
        <source>Pay this cabin (Enter)</source>
        <translation>Encaisser cette cabine (Entrée)</translation>
    </message>
    <message>
        <source>Past sessions of this cabin (H)</source>
        <translation>Sessions précédentes de cette cabine (H)</translation>
    </message>
    <message>
        <source>Invoice for this payment (I)</source>
        <translation>Facture pour ce paiement (I)</translation>
    </message>
    <message>
        <source>A call is still running in this cabin</source>
        <translation>Un appel est encore en cours dans cette cabine</translation>
    </message>
    <message>
        <source>Stale</source>
        <translation>Pas à jour</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Prête</translation>
    </message>
    <message>
        <source>Out of service</source>
        <translation>Hors service</translation>
    </message>
    <message>
        <source>Switch unreachable</source>
        <translation>Standard téléphonique injoignable</translation>
    </message>
    <message>
        <source>TOTAL</source>
        <translation>TOTAL</translation>
    </message>
    <message numerus="yes">
        <source>+ %n earlier call(s)</source>
        <translation>
            <numerusform>+ %n appel précédent</numerusform>
            <numerusform>+ %n appels précédents</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Desk</name>
    <message>
        <source>Starting the server…</source>
        <extracomment>Set by the cold-start benchmark: print when the login window is up, then quit.</extracomment>
        <translation>Démarrage du serveur…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>Connexion au serveur…</translation>
    </message>
    <message>
        <source>The server could not be started: %1</source>
        <translation>Le serveur n&apos;a pas pu démarrer&#xa0;: %1</translation>
    </message>
    <message>
        <source>The server cannot be reached: %1</source>
        <translation>Le serveur est injoignable&#xa0;: %1</translation>
    </message>
    <message>
        <source>Retrying…</source>
        <translation>Nouvel essai…</translation>
    </message>
    <message>
        <source>Cash desk</source>
        <translation>Caisse</translation>
    </message>
    <message>
        <source>The server stopped: %1</source>
        <translation>Le serveur s&apos;est arrêté&#xa0;: %1</translation>
    </message>
</context>
<context>
    <name>FirstRunDialog</name>
    <message>
        <source>New shop</source>
        <translation>Nouvelle boutique</translation>
    </message>
    <message>
        <source>Welcome</source>
        <translation>Bienvenue</translation>
    </message>
    <message>
        <source>This till has no shop yet. Name it and choose the owner&apos;s login; cashiers are added later by the owner.</source>
        <translation>Cette caisse n&apos;a pas encore de boutique. Donnez-lui un nom et choisissez l&apos;identifiant du propriétaire&#xa0;; c&apos;est lui qui ajoutera ensuite les caissiers.</translation>
    </message>
    <message>
        <source>Shop name</source>
        <translation>Nom de la boutique</translation>
    </message>
    <message>
        <source>Currency</source>
        <translation>Devise</translation>
    </message>
    <message>
        <source>Time zone</source>
        <translation>Fuseau horaire</translation>
    </message>
    <message>
        <source>Owner&apos;s login</source>
        <translation>Identifiant du propriétaire</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Mot de passe</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>Confirmer le mot de passe</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Quitter</translation>
    </message>
    <message>
        <source>Create the shop</source>
        <translation>Créer la boutique</translation>
    </message>
    <message>
        <source>Name the shop and the owner&apos;s login.</source>
        <translation>Indiquez le nom de la boutique et l&apos;identifiant du propriétaire.</translation>
    </message>
    <message numerus="yes">
        <source>The password needs at least %n characters.</source>
        <translation>
            <numerusform>Le mot de passe doit contenir au moins %n caractère.</numerusform>
            <numerusform>Le mot de passe doit contenir au moins %n caractères.</numerusform>
        </translation>
    </message>
    <message>
        <source>The two passwords differ.</source>
        <translation>Les deux mots de passe sont différents.</translation>
    </message>
    <message>
        <source>The shop could not be created: %1</source>
        <translation>La boutique n&apos;a pas pu être créée&#xa0;: %1</translation>
    </message>
</context>
<context>
    <name>Formatter</name>
    <message>
        <source>%1/min</source>
        <extracomment>Language code → its own name (shown in the language chooser, never translated). The Babel locale used for money per language (the shop&apos;s currency, the cashier&apos;s language). Unicode bidi isolates (UAX #9): LRI…PDI keeps numbers, phone numbers and durations left-to-right inside Arabic text; FSI…PDI makes a value (an amount, a name) one block with its own direction, so it never mixes with the sentence around it.</extracomment>
        <translation>%1/min</translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message>
        <source>Cabin history</source>
        <translation>Historique de la cabine</translation>
    </message>
    <message>
        <source>TRAINING — sessions of the training shop</source>
        <translation>FORMATION — sessions de la boutique de formation</translation>
    </message>
    <message>
        <source>History — %1</source>
        <translation>Historique — %1</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Date</translation>
    </message>
    <message>
        <source>Calls</source>
        <translation>Appels</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Durée</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>Montant</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>Caissier</translation>
    </message>
    <message>
        <source>Invoice</source>
        <translation>Facture</translation>
    </message>
    <message>
        <source>Load older sessions</source>
        <translation>Charger les sessions plus anciennes</translation>
    </message>
    <message>
        <source>Close (Esc)</source>
        <translation>Fermer (Échap)</translation>
    </message>
    <message>
        <source>The history could not be loaded: %1</source>
        <translation>L&apos;historique n&apos;a pas pu être chargé&#xa0;: %1</translation>
    </message>
    <message>
        <source>No paid session yet.</source>
        <translation>Aucune session payée pour l&apos;instant.</translation>
    </message>
    <message numerus="yes">
        <source>%n paid session(s)</source>
        <translation>
            <numerusform>%n session payée</numerusform>
            <numerusform>%n sessions payées</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>%n appel</numerusform>
            <numerusform>%n appels</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>%n abouti</numerusform>
            <numerusform>%n aboutis</numerusform>
        </translation>
    </message>
    <message>
        <source>Received %1, change %2</source>
        <translation>Reçu %1, monnaie rendue %2</translation>
    </message>
    <message>
        <source>Invoice %1 — press Enter to open it</source>
        <translation>Facture %1 — appuyez sur Entrée pour l&apos;ouvrir</translation>
    </message>
    <message>
        <source>%1 per minute</source>
        <translation>%1 la minute</translation>
    </message>
</context>
<context>
    <name>InvoiceMiniature</name>
    <message>
        <source>✕</source>
        <extracomment>The page picture is on screen (tests and screenshots wait for it). The invoice could not be downloaded or read; the text is for the cashier. The full viewer was opened (the dialog is passed along). The cashier dismissed the card.</extracomment>
        <translation>✕</translation>
    </message>
    <message>
        <source>Close the invoice preview</source>
        <translation>Fermer l&apos;aperçu de la facture</translation>
    </message>
    <message>
        <source>Open the invoice</source>
        <translation>Ouvrir la facture</translation>
    </message>
    <message>
        <source>Click to open, print or save</source>
        <translation>Cliquez pour ouvrir, imprimer ou enregistrer</translation>
    </message>
    <message>
        <source>Downloading the invoice…</source>
        <translation>Téléchargement de la facture…</translation>
    </message>
    <message>
        <source>Preparing the invoice…</source>
        <translation>Préparation de la facture…</translation>
    </message>
    <message>
        <source>The invoice cannot be shown.</source>
        <translation>Impossible d&apos;afficher la facture.</translation>
    </message>
    <message>
        <source>The invoice cannot be shown: %1</source>
        <translation>Impossible d&apos;afficher la facture&#xa0;: %1</translation>
    </message>
</context>
<context>
    <name>InvoiceSettingsDialog</name>
    <message>
        <source>Invoice settings</source>
        <translation>Réglages des factures</translation>
    </message>
    <message>
        <source>What the shop&apos;s invoices and receipts say about it. Invoices already issued keep what they were printed with.</source>
        <translation>Ce que les factures et les tickets disent de la boutique. Les factures déjà émises gardent ce avec quoi elles ont été imprimées.</translation>
    </message>
    <message>
        <source>The shop</source>
        <translation>La boutique</translation>
    </message>
    <message>
        <source>Invoices</source>
        <translation>Factures</translation>
    </message>
    <message>
        <source>&amp;Company name</source>
        <translation>&amp;Raison sociale</translation>
    </message>
    <message>
        <source>&amp;Address</source>
        <translation>&amp;Adresse</translation>
    </message>
    <message>
        <source>&amp;Tax id</source>
        <translation>&amp;Identifiant fiscal</translation>
    </message>
    <message>
        <source>&amp;VAT rate</source>
        <translation>Taux de T&amp;VA</translation>
    </message>
    <message>
        <source>Logo</source>
        <translation>Logo</translation>
    </message>
    <message>
        <source>Number &amp;prefix</source>
        <translation>&amp;Préfixe du numéro</translation>
    </message>
    <message>
        <source>&amp;Digits</source>
        <translation>&amp;Chiffres</translation>
    </message>
    <message>
        <source>&amp;Next number</source>
        <translation>Numéro &amp;suivant</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Langue</translation>
    </message>
    <message>
        <source>&amp;Footer</source>
        <translation>Pied de pa&amp;ge</translation>
    </message>
    <message>
        <source>As registered, e.g. Taxiphone de la Gare</source>
        <translation>Telle qu&apos;enregistrée, par ex. Taxiphone de la Gare</translation>
    </message>
    <message>
        <source>Street, town — one line each</source>
        <translation>Rue, ville — une ligne chacune</translation>
    </message>
    <message>
        <source>e.g. FR40123456824</source>
        <translation>par ex. FR40123456824</translation>
    </message>
    <message>
        <source>Prices include VAT</source>
        <translation>Prix TTC (TVA comprise)</translation>
    </message>
    <message>
        <source>Ticked: the rates are what customers pay, VAT included. Unticked: VAT is added on top of them.</source>
        <translation>Cochée&#xa0;: les tarifs sont ce que paient les clients, TVA comprise. Décochée&#xa0;: la TVA s&apos;y ajoute.</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>C&amp;hoisir…</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>Re&amp;tirer</translation>
    </message>
    <message>
        <source>A PNG or JPEG picture of at most %1 KB, printed at the top of every invoice.</source>
        <translation>Une image PNG ou JPEG de %1&#xa0;Ko au plus, imprimée en haut de chaque facture.</translation>
    </message>
    <message>
        <source>e.g. INV-</source>
        <translation>par ex. FAC-</translation>
    </message>
    <message>
        <source>Put the &amp;year in the number</source>
        <translation>Mettre l&apos;a&amp;nnée dans le numéro</translation>
    </message>
    <message>
        <source>The number is padded with zeros to this many digits (0: no padding).</source>
        <translation>Le numéro est complété par des zéros jusqu&apos;à ce nombre de chiffres (0&#xa0;: sans zéros).</translation>
    </message>
    <message>
        <source>It can change only until the first invoice is issued: numbers must have no gaps.</source>
        <translation>Il ne peut changer qu&apos;avant la première facture&#xa0;: la numérotation doit être sans trou.</translation>
    </message>
    <message>
        <source>e.g. Thank you for your visit</source>
        <translation>par ex. Merci de votre visite</translation>
    </message>
    <message>
        <source>The language invoices and receipts are printed in</source>
        <translation>La langue dans laquelle factures et tickets sont imprimés</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>Annuler (Échap)</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>Réessayer</translation>
    </message>
    <message>
        <source>Save (Enter)</source>
        <translation>Enregistrer (Entrée)</translation>
    </message>
    <message>
        <source>The invoice settings could not be loaded: %1</source>
        <translation>Les réglages des factures n&apos;ont pas pu être chargés&#xa0;: %1</translation>
    </message>
    <message>
        <source>Next invoice: %1</source>
        <translation>Prochaine facture&#xa0;: %1</translation>
    </message>
    <message>
        <source>Choose the logo</source>
        <translation>Choisir le logo</translation>
    </message>
    <message>
        <source>Images (*.png *.jpg *.jpeg)</source>
        <translation>Images (*.png *.jpg *.jpeg)</translation>
    </message>
    <message>
        <source>This picture is %1 KB; a logo can be at most %2 KB. Save it smaller (about 600 pixels wide is plenty) and choose it again.</source>
        <translation>Cette image fait %1&#xa0;Ko&#xa0;; un logo fait au plus %2&#xa0;Ko. Enregistrez-la plus petite (600&#xa0;pixels de large suffisent) et choisissez-la à nouveau.</translation>
    </message>
    <message>
        <source>This file is not a PNG or JPEG picture. Choose a logo saved as PNG or JPEG.</source>
        <translation>Ce fichier n&apos;est pas une image PNG ou JPEG. Choisissez un logo enregistré en PNG ou en JPEG.</translation>
    </message>
    <message>
        <source>The file could not be read: %1</source>
        <translation>Le fichier n&apos;a pas pu être lu&#xa0;: %1</translation>
    </message>
    <message>
        <source>No logo</source>
        <translation>Pas de logo</translation>
    </message>
    <message>
        <source>A logo the desk cannot show</source>
        <translation>Un logo que la caisse ne peut pas afficher</translation>
    </message>
    <message>
        <source>Enter the VAT rate in percent, e.g. %1 (0 when the shop charges no VAT).</source>
        <translation>Saisissez le taux de TVA en pourcentage, par ex. %1 (0 si la boutique ne facture pas de TVA).</translation>
    </message>
    <message>
        <source>The settings were not saved: %1</source>
        <translation>Les réglages n&apos;ont pas été enregistrés&#xa0;: %1</translation>
    </message>
    <message>
        <source>Loading the invoice settings…</source>
        <translation>Chargement des réglages des factures…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Enregistrement…</translation>
    </message>
</context>
<context>
    <name>InvoiceViewer</name>
    <message>
        <source>Invoice pages</source>
        <extracomment>The job finished: pages printed, and whether a PDF file got the invoice itself. The invoice was written to this path. Printing or saving failed; the message was shown to the cashier.</extracomment>
        <translation>Pages de la facture</translation>
    </message>
    <message>
        <source>−</source>
        <translation>−</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>Zoom arrière</translation>
    </message>
    <message>
        <source>+</source>
        <translation>+</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>Zoom avant</translation>
    </message>
    <message>
        <source>Fit width</source>
        <translation>Ajuster à la largeur</translation>
    </message>
    <message>
        <source>Fit the page width to the window</source>
        <translation>Ajuster la largeur de la page à la fenêtre</translation>
    </message>
    <message>
        <source>Whole page</source>
        <translation>Page entière</translation>
    </message>
    <message>
        <source>Show whole pages</source>
        <translation>Afficher des pages entières</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>Enregistrer sous…</translation>
    </message>
    <message>
        <source>Save the invoice as a PDF file</source>
        <translation>Enregistrer la facture en fichier PDF</translation>
    </message>
    <message>
        <source>Print…</source>
        <translation>Imprimer…</translation>
    </message>
    <message>
        <source>Print the invoice</source>
        <translation>Imprimer la facture</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Fermer</translation>
    </message>
    <message>
        <source>Close the invoice (Esc)</source>
        <translation>Fermer la facture (Échap)</translation>
    </message>
    <message>
        <source>This invoice cannot be shown: the file is damaged.</source>
        <translation>Impossible d&apos;afficher cette facture&#xa0;: le fichier est endommagé.</translation>
    </message>
    <message>
        <source>1 page</source>
        <translation>1 page</translation>
    </message>
    <message numerus="yes">
        <source>%n pages</source>
        <translation>
            <numerusform>%n page</numerusform>
            <numerusform>%n pages</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation>%1&#xa0;%</translation>
    </message>
    <message>
        <source>Print invoice</source>
        <translation>Imprimer la facture</translation>
    </message>
    <message>
        <source>Printing…</source>
        <translation>Impression…</translation>
    </message>
    <message>
        <source>The invoice was saved as a PDF file.</source>
        <translation>La facture a été enregistrée en fichier PDF.</translation>
    </message>
    <message>
        <source>The invoice was sent to the printer.</source>
        <translation>La facture a été envoyée à l&apos;imprimante.</translation>
    </message>
    <message>
        <source>The invoice was not printed: %1</source>
        <translation>La facture n&apos;a pas été imprimée&#xa0;: %1</translation>
    </message>
    <message>
        <source>Save invoice</source>
        <translation>Enregistrer la facture</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>Fichiers PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Enregistrement…</translation>
    </message>
    <message>
        <source>Saved as %1</source>
        <translation>Enregistrée sous %1</translation>
    </message>
    <message>
        <source>The invoice was not saved: %1</source>
        <translation>La facture n&apos;a pas été enregistrée&#xa0;: %1</translation>
    </message>
    <message>
        <source>Invoice</source>
        <translation>Facture</translation>
    </message>
    <message>
        <source>The invoice could not be opened: %1</source>
        <translation>La facture n&apos;a pas pu être ouverte&#xa0;: %1</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Cash desk — log in</source>
        <extracomment>A message shown on the login: a text, or a function that writes it in the current language (so a language chosen while it shows re-writes it at once).</extracomment>
        <translation>Caisse — connexion</translation>
    </message>
    <message>
        <source>Cash desk</source>
        <translation>Caisse</translation>
    </message>
    <message>
        <source>Log in to start your shift</source>
        <translation>Connectez-vous pour commencer votre service</translation>
    </message>
    <message>
        <source>TRAINING SHOP — practice only, no real money</source>
        <translation>BOUTIQUE DE FORMATION — sans argent réel</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Langue</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Identifiant</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Mot de passe</translation>
    </message>
    <message>
        <source>Log in (Enter)</source>
        <translation>Se connecter (Entrée)</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Quitter</translation>
    </message>
    <message>
        <source>Logging in…</source>
        <translation>Connexion…</translation>
    </message>
    <message>
        <source>Connected to the server.</source>
        <translation>Connecté au serveur.</translation>
    </message>
    <message>
        <source>Starting the server…</source>
        <translation>Démarrage du serveur…</translation>
    </message>
    <message>
        <source>Type your user name and password.</source>
        <translation>Saisissez votre identifiant et votre mot de passe.</translation>
    </message>
    <message numerus="yes">
        <source>Too many failed attempts. Wait %n second(s).</source>
        <translation>
            <numerusform>Trop de tentatives échouées. Patientez %n seconde.</numerusform>
            <numerusform>Trop de tentatives échouées. Patientez %n secondes.</numerusform>
        </translation>
    </message>
    <message>
        <source>Wrong user name or password.</source>
        <translation>Identifiant ou mot de passe incorrect.</translation>
    </message>
    <message>
        <source>The server cannot be reached. It will be retried.</source>
        <translation>Le serveur est injoignable. Nouvel essai automatique.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Cash desk</source>
        <translation>Caisse</translation>
    </message>
    <message>
        <source>&amp;Cabin</source>
        <translation>&amp;Cabine</translation>
    </message>
    <message>
        <source>&amp;Shift</source>
        <translation>&amp;Service</translation>
    </message>
    <message>
        <source>Se&amp;ttings</source>
        <translation>&amp;Réglages</translation>
    </message>
    <message>
        <source>&amp;Invoice settings…</source>
        <translation>Réglages des &amp;factures…</translation>
    </message>
    <message>
        <source>&amp;Receipt printer…</source>
        <translation>Imprimante de &amp;tickets…</translation>
    </message>
    <message>
        <source>Pay the selected cabin</source>
        <translation>Encaisser la cabine sélectionnée</translation>
    </message>
    <message>
        <source>Invoice for the selected cabin</source>
        <translation>Facture pour la cabine sélectionnée</translation>
    </message>
    <message>
        <source>History of the selected cabin</source>
        <translation>Historique de la cabine sélectionnée</translation>
    </message>
    <message>
        <source>Log off (end my shift)</source>
        <translation>Se déconnecter (fin de mon service)</translation>
    </message>
    <message>
        <source>Keys: 1–64 or F1–F12 select a cabin · arrows move · Enter pay · I invoice · H history · Ctrl+L log off</source>
        <translation>Touches&#xa0;: 1–64 ou F1–F12 choisir une cabine · flèches se déplacer · Entrée encaisser · I facture · H historique · Ctrl+L se déconnecter</translation>
    </message>
    <message>
        <source>TRAINING MODE — simulated customers, no real money is taken</source>
        <translation>MODE FORMATION — clients simulés, aucun argent réel n&apos;est encaissé</translation>
    </message>
    <message>
        <source>TRAINING</source>
        <translation>FORMATION</translation>
    </message>
    <message>
        <source>Your login has ended: please log in again.</source>
        <translation>Votre session a expiré&#xa0;: reconnectez-vous.</translation>
    </message>
    <message>
        <source>● %1 on shift</source>
        <translation>● %1 en service</translation>
    </message>
    <message>
        <source>Logged in since %1 — Ctrl+L to log off</source>
        <translation>Connecté depuis %1 — Ctrl+L pour se déconnecter</translation>
    </message>
    <message>
        <source>Nobody logged in</source>
        <translation>Personne n&apos;est connecté</translation>
    </message>
    <message>
        <source>Credit %1</source>
        <translation>Crédit %1</translation>
    </message>
    <message>
        <source>Prepaid credit available for calls</source>
        <translation>Crédit prépayé disponible pour les appels</translation>
    </message>
    <message numerus="yes">
        <source>%n cabin(s)</source>
        <translation>
            <numerusform>%n cabine</numerusform>
            <numerusform>%n cabines</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n in use</source>
        <translation>
            <numerusform>%n occupée</numerusform>
            <numerusform>%n occupées</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n to pay</source>
        <translation>
            <numerusform>%n à payer</numerusform>
            <numerusform>%n à payer</numerusform>
        </translation>
    </message>
    <message>
        <source>● Server: live</source>
        <translation>● Serveur&#xa0;: en direct</translation>
    </message>
    <message>
        <source>Connected to the server; the tiles are live.</source>
        <translation>Connecté au serveur&#xa0;; les cabines sont à jour en direct.</translation>
    </message>
    <message>
        <source>● Server: connecting…</source>
        <translation>● Serveur&#xa0;: connexion…</translation>
    </message>
    <message>
        <source>● Server: unreachable</source>
        <translation>● Serveur&#xa0;: injoignable</translation>
    </message>
    <message>
        <source>● Phones: OK</source>
        <translation>● Téléphones&#xa0;: OK</translation>
    </message>
    <message>
        <source>The telephone switch (%1) is connected.</source>
        <translation>Le standard téléphonique (%1) est connecté.</translation>
    </message>
    <message>
        <source>● Phones: unreachable</source>
        <translation>● Téléphones&#xa0;: injoignables</translation>
    </message>
    <message>
        <source>The telephone switch (%1) does not answer: no call can be made.</source>
        <translation>Le standard téléphonique (%1) ne répond pas&#xa0;: aucun appel n&apos;est possible.</translation>
    </message>
    <message>
        <source>Connection to the server lost — the tiles show the last known state and are not live. Reconnecting…</source>
        <translation>Connexion au serveur perdue — les cabines affichent le dernier état connu et ne sont plus à jour. Reconnexion…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>Connexion au serveur…</translation>
    </message>
    <message>
        <source>%1 paid — change %2</source>
        <translation>%1 encaissée — monnaie à rendre %2</translation>
    </message>
    <message>
        <source>Invoice %1</source>
        <translation>Facture %1</translation>
    </message>
    <message>
        <source>Invoice of payment %1</source>
        <translation>Facture du paiement %1</translation>
    </message>
    <message>
        <source>Invoice settings saved.</source>
        <translation>Réglages des factures enregistrés.</translation>
    </message>
    <message>
        <source>Receipt printer settings saved.</source>
        <translation>Réglages de l&apos;imprimante de tickets enregistrés.</translation>
    </message>
    <message>
        <source>Something failed: %1</source>
        <translation>Une erreur s&apos;est produite&#xa0;: %1</translation>
    </message>
</context>
<context>
    <name>PayDialog</name>
    <message>
        <source>Pay</source>
        <extracomment>Banknotes a customer typically hands over, per currency (the rest: these).</extracomment>
        <translation>Encaisser</translation>
    </message>
    <message>
        <source>TRAINING — no real money is taken</source>
        <translation>FORMATION — aucun argent réel n&apos;est encaissé</translation>
    </message>
    <message>
        <source>AMOUNT DUE</source>
        <translation>MONTANT DÛ</translation>
    </message>
    <message>
        <source>CASH RECEIVED</source>
        <translation>ESPÈCES REÇUES</translation>
    </message>
    <message>
        <source>CHANGE TO GIVE</source>
        <translation>MONNAIE À RENDRE</translation>
    </message>
    <message>
        <source>Exact</source>
        <translation>Appoint</translation>
    </message>
    <message>
        <source>The customer gives the exact amount</source>
        <translation>Le client fait l&apos;appoint</translation>
    </message>
    <message>
        <source>Print an invoice (Alt+I)</source>
        <translation>Imprimer une facture (Alt+I)</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>Annuler (Échap)</translation>
    </message>
    <message>
        <source>Pay (Enter)</source>
        <translation>Encaisser (Entrée)</translation>
    </message>
    <message>
        <source>Pay — %1</source>
        <translation>Encaisser — %1</translation>
    </message>
    <message>
        <source>Nothing to pay: this session is closed (paid at another desk?).</source>
        <translation>Rien à encaisser&#xa0;: cette session est close (payée à une autre caisse&#xa0;?).</translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>%n appel</numerusform>
            <numerusform>%n appels</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>%n abouti</numerusform>
            <numerusform>%n aboutis</numerusform>
        </translation>
    </message>
    <message>
        <source>opened at %1</source>
        <translation>ouverte à %1</translation>
    </message>
    <message>
        <source>A call is still running in this cabin (%1). It cannot be paid until it ends.</source>
        <translation>Un appel est encore en cours dans cette cabine (%1). Elle ne pourra être encaissée qu&apos;à la fin de l&apos;appel.</translation>
    </message>
    <message>
        <source>The connection to the server is lost: the figures may be out of date.</source>
        <translation>La connexion au serveur est perdue&#xa0;: les montants ne sont peut-être plus à jour.</translation>
    </message>
    <message>
        <source>Received: %1</source>
        <translation>Reçu&#xa0;: %1</translation>
    </message>
    <message>
        <source>STILL MISSING</source>
        <translation>IL MANQUE</translation>
    </message>
    <message>
        <source>There is nothing to pay in this cabin.</source>
        <translation>Il n&apos;y a rien à encaisser dans cette cabine.</translation>
    </message>
    <message>
        <source>A call is still running: wait until it ends.</source>
        <translation>Un appel est encore en cours&#xa0;: attendez qu&apos;il se termine.</translation>
    </message>
    <message>
        <source>Type the cash received (for example %1).</source>
        <translation>Saisissez les espèces reçues (par exemple %1).</translation>
    </message>
    <message>
        <source>Not enough cash: received %1, due %2. Nothing was taken.</source>
        <translation>Espèces insuffisantes&#xa0;: reçu %1, dû %2. Rien n&apos;a été encaissé.</translation>
    </message>
    <message>
        <source>The server says %1 is due: more cash is needed.</source>
        <translation>Selon le serveur, %1 est dû&#xa0;: il faut plus d&apos;espèces.</translation>
    </message>
    <message>
        <source>This session was already paid (at another desk?). Nothing was taken.</source>
        <translation>Cette session a déjà été payée (à une autre caisse&#xa0;?). Rien n&apos;a été encaissé.</translation>
    </message>
    <message>
        <source>Your shift is closed: log in again to take payments.</source>
        <translation>Votre service est clos&#xa0;: reconnectez-vous pour encaisser.</translation>
    </message>
    <message>
        <source>Your login has ended: log in again.</source>
        <translation>Votre session a expiré&#xa0;: reconnectez-vous.</translation>
    </message>
    <message>
        <source>The server did not answer. Press Pay again: the payment will be taken only once.</source>
        <translation>Le serveur n&apos;a pas répondu. Appuyez de nouveau sur Encaisser&#xa0;: le paiement ne sera encaissé qu&apos;une seule fois.</translation>
    </message>
    <message>
        <source>Payment failed: %1</source>
        <translation>Échec du paiement&#xa0;: %1</translation>
    </message>
</context>
<context>
    <name>ReceiptBanner</name>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Hide this message</source>
        <translation>Masquer ce message</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinter</name>
    <message>
        <source>Test call</source>
        <translation>Appel d&apos;essai</translation>
    </message>
    <message>
        <source>Receipt printer test</source>
        <translation>Test de l&apos;imprimante de tickets</translation>
    </message>
    <message>
        <source>If you can read this, the printer works.</source>
        <translation>Si vous pouvez lire ceci, l&apos;imprimante fonctionne.</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>Essai</translation>
    </message>
    <message>
        <source>Cabin 1</source>
        <translation>Cabine 1</translation>
    </message>
    <message>
        <source>The receipt was not printed: no receipt printer is set up. Choose it in the receipt printer settings. The payment is recorded.</source>
        <translation>Le ticket n&apos;a pas été imprimé&#xa0;: aucune imprimante de tickets n&apos;est configurée. Choisissez-la dans les réglages de l&apos;imprimante de tickets. Le paiement est enregistré.</translation>
    </message>
    <message>
        <source>The receipt was not printed: %1. The payment is recorded.</source>
        <translation>Le ticket n&apos;a pas été imprimé&#xa0;: %1. Le paiement est enregistré.</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinterDialog</name>
    <message>
        <source>Receipt printer</source>
        <translation>Imprimante de tickets</translation>
    </message>
    <message>
        <source>The thermal printer of this till. These settings are kept on this computer.</source>
        <translation>L&apos;imprimante thermique de cette caisse. Ces réglages sont gardés sur cet ordinateur.</translation>
    </message>
    <message>
        <source>Close without saving (Esc)</source>
        <translation>Fermer sans enregistrer (Échap)</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinterForm</name>
    <message>
        <source>USB printer (vendor and product id)</source>
        <translation>Imprimante USB (identifiants fabricant et produit)</translation>
    </message>
    <message>
        <source>Device file (Linux)</source>
        <translation>Fichier de périphérique (Linux)</translation>
    </message>
    <message>
        <source>Windows printer</source>
        <translation>Imprimante Windows</translation>
    </message>
    <message>
        <source>Printer &amp;connection:</source>
        <translation>&amp;Connexion de l&apos;imprimante&#xa0;:</translation>
    </message>
    <message>
        <source>USB &amp;vendor id:</source>
        <translation>Identifiant &amp;fabricant USB&#xa0;:</translation>
    </message>
    <message>
        <source>USB &amp;product id:</source>
        <translation>Identifiant &amp;produit USB&#xa0;:</translation>
    </message>
    <message>
        <source>&amp;Device file:</source>
        <translation>Fichier &amp;de périphérique&#xa0;:</translation>
    </message>
    <message>
        <source>&amp;Windows printer:</source>
        <translation>Imprimante &amp;Windows&#xa0;:</translation>
    </message>
    <message>
        <source>Paper width:</source>
        <translation>Largeur du papier&#xa0;:</translation>
    </message>
    <message>
        <source>e.g. 04b8</source>
        <translation>ex. 04b8</translation>
    </message>
    <message>
        <source>e.g. 0e15</source>
        <translation>ex. 0e15</translation>
    </message>
    <message>
        <source>As “lsusb” lists it: ID vendor:product</source>
        <translation>Tel que «&#xa0;lsusb&#xa0;» l&apos;affiche&#xa0;: ID fabricant:produit</translation>
    </message>
    <message>
        <source>Name in Windows&apos; printer list</source>
        <translation>Nom dans la liste des imprimantes de Windows</translation>
    </message>
    <message>
        <source>58 mm</source>
        <translation>58 mm</translation>
    </message>
    <message>
        <source>80 mm</source>
        <translation>80 mm</translation>
    </message>
    <message>
        <source>Print a receipt after every payment</source>
        <translation>Imprimer un ticket après chaque paiement</translation>
    </message>
    <message>
        <source>Print the invoice number as a QR code</source>
        <translation>Imprimer le numéro de facture en QR code</translation>
    </message>
    <message>
        <source>The printer draws QR codes itself</source>
        <translation>L&apos;imprimante dessine elle-même les QR codes</translation>
    </message>
    <message>
        <source>Untick if the QR code comes out as garbage: it is then sent as a picture.</source>
        <translation>Décochez si le QR code sort illisible&#xa0;: il sera alors envoyé sous forme d&apos;image.</translation>
    </message>
    <message>
        <source>&amp;Test print</source>
        <translation>Impression de &amp;test</translation>
    </message>
    <message>
        <source>Print a sample receipt with these settings</source>
        <translation>Imprimer un ticket d&apos;essai avec ces réglages</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>&amp;Enregistrer</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>Enregistré.</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s USB vendor id (4 hex digits).</source>
        <translation>Saisissez l&apos;identifiant fabricant USB de l&apos;imprimante (4 chiffres hexadécimaux).</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s USB product id (4 hex digits).</source>
        <translation>Saisissez l&apos;identifiant produit USB de l&apos;imprimante (4 chiffres hexadécimaux).</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s device file, e.g. /dev/usb/lp0.</source>
        <translation>Saisissez le fichier de périphérique de l&apos;imprimante, par ex. /dev/usb/lp0.</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s name.</source>
        <translation>Saisissez le nom de l&apos;imprimante.</translation>
    </message>
    <message>
        <source>Printing a test receipt…</source>
        <translation>Impression d&apos;un ticket d&apos;essai…</translation>
    </message>
    <message>
        <source>The test receipt was printed.</source>
        <translation>Le ticket d&apos;essai a été imprimé.</translation>
    </message>
    <message>
        <source>The test receipt was not printed.</source>
        <translation>Le ticket d&apos;essai n&apos;a pas été imprimé.</translation>
    </message>
    <message>
        <source>Receipt printer</source>
        <translation>Imprimante de tickets</translation>
    </message>
    <message>
        <source>the USB printer %1</source>
        <translation>l&apos;imprimante USB %1</translation>
    </message>
    <message>
        <source>the printer at %1</source>
        <translation>l&apos;imprimante sur %1</translation>
    </message>
    <message>
        <source>the Windows printer “%1”</source>
        <translation>l&apos;imprimante Windows «&#xa0;%1&#xa0;»</translation>
    </message>
    <message>
        <source>No test receipt was printed: %1 cannot be reached.

Check that it is switched on and plugged in, and that the settings below name it.</source>
        <translation>Aucun ticket d&apos;essai n&apos;a été imprimé&#xa0;: %1 est injoignable.

Vérifiez qu&apos;elle est allumée et branchée, et que les réglages ci-dessous la désignent bien.</translation>
    </message>
    <message>
        <source>Details: %1</source>
        <translation>Détails&#xa0;: %1</translation>
    </message>
</context>
</TS>
