"""Message texts for the inbox seed: Portuguese (pt-BR) and English customer-service chat.

Each text is a sentence from a template with its slots filled (products, places, names, order
numbers) plus a few words drawn from a Zipf-like vocabulary, so that words range from very
common to rare and a full-text search finds a realistic spread of matches.
"""

import itertools
import random

PRODUCTS = [
    "pão de queijo", "bolo de cenoura", "croissant", "café coado", "pão francês", "sonho",
    "torta de limão", "coxinha", "empada", "brigadeiro", "quindim", "pão de mel", "baguete",
    "pão integral", "cuca de banana", "rosca doce", "broa de milho", "esfiha", "focaccia",
    "cheesecake", "brownie", "cappuccino", "chá mate", "suco de laranja", "misto quente",
]  # fmt: skip
PLACES = [
    "Centro", "Vila Mariana", "Pinheiros", "Moema", "Tatuapé", "Santana", "Lapa", "Butantã",
    "Perdizes", "Ipiranga", "Saúde", "Mooca", "Jabaquara", "Consolação", "Liberdade",
]  # fmt: skip
FIRST_NAMES = [
    "Ana", "João", "Maria", "José", "Francisco", "Antônio", "Luiza", "Carlos", "Paulo", "Lucas",
    "Júlia", "Beatriz", "Gabriel", "Rafael", "Fernanda", "Camila", "Mariana", "Pedro", "Letícia",
    "Gustavo", "Larissa", "Thiago", "Bruna", "Felipe", "Patrícia", "Rodrigo", "Vitória", "Caio",
    "Emily", "James", "Olivia", "Michael", "Sophie", "David", "Grace", "Daniel", "Chloe",
]  # fmt: skip
LAST_NAMES = [
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Araújo", "Melo", "Barbosa", "Rocha",
    "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes",
    "Freitas", "Cardoso", "Ramos", "Gonçalves", "Smith", "Jones", "Brown", "Taylor", "Walker",
]  # fmt: skip
CUSTOMER_PT = [
    "Oi, boa tarde! Vocês têm {p} hoje?",
    "Bom dia, queria encomendar {n} unidades de {p} para amanhã",
    "Qual o horário de funcionamento no sábado?",
    "Vocês entregam em {l}? Quanto fica a taxa de entrega?",
    "Meu pedido {o} ainda não chegou, podem verificar?",
    "Posso pagar com Pix ou só cartão?",
    "Obrigada! O {p} estava maravilhoso",
    "Gostaria de cancelar o pedido {o}, por favor",
    "Tem opção sem glúten ou sem lactose?",
    "Quanto custa o {p}? E o {q}?",
    "Vocês fazem bolo de aniversário por encomenda para {n} pessoas?",
    "O motoboy já saiu? Estou esperando em {l}",
    "Oi {f}, tudo bem? Preciso mudar o endereço de entrega para {l}",
    "Chegou frio o {p}, dá para trocar?",
    "Aceitam vale-refeição?",
]  # fmt: skip
CUSTOMER_EN = [
    "Hi, do you have {p} today?",
    "Can I order {n} pieces of {p} for tomorrow morning?",
    "What time do you close on Sunday?",
    "Do you deliver to {l}? How much is the delivery fee?",
    "My order {o} has not arrived yet, could you check?",
    "Thanks, the {p} was delicious!",
    "Is there a gluten-free option?",
]  # fmt: skip
REPLY_PT = [
    "Olá! Temos {p} fresquinho sim, saindo agora do forno.",
    "Abrimos de segunda a sábado, das 8h às 20h, e domingo até o meio-dia.",
    "Entregamos em {l} sim! A taxa é de R$ {n},00 e chega em até uma hora.",
    "Seu pedido {o} saiu para entrega, o motoboy chega em uns 20 minutos.",
    "Aceitamos Pix, cartões de crédito e débito e dinheiro.",
    "Pedido {o} confirmado: {n} unidades de {p}. Obrigado pela preferência!",
    "Sinto muito pelo transtorno, vamos trocar o {p} sem custo.",
    "O {p} custa R$ {n},50 e o {q} R$ {n},90.",
    "Temos opções sem glúten: {p} e {q}.",
    "Pronto, {f}! Endereço de entrega atualizado para {l}.",
    "Cancelamos o pedido {o}; o estorno aparece em até dois dias úteis.",
]  # fmt: skip
REPLY_EN = [
    "Hello! Yes, we have fresh {p} right now.",
    "We are open Monday to Saturday, 8am to 8pm.",
    "Yes, we deliver to {l}; the fee is R$ {n} and it takes up to an hour.",
    "Your order {o} is on its way, about 20 minutes.",
    "Order {o} confirmed: {n} pieces of {p}. Thank you!",
]  # fmt: skip
# Extra words, from common to rare once shuffled (Zipf).
WORDS = """
obrigado obrigada por favor amanhã hoje agora ainda já depois antes cedo tarde noite manhã
entrega entregador pedido encomenda pagamento troco desconto promoção cupom frete endereço
número apartamento portaria bloco casa trabalho escritório festa aniversário casamento
reunião lanche almoço jantar sobremesa bebida doce salgado quentinho fresquinho gostoso
delicioso caro barato rápido demorado atrasado certo errado trocado faltando sobrando
please thanks tomorrow today tonight morning afternoon order delivery payment change
discount coupon address apartment building office party birthday wedding meeting breakfast
lunch dinner dessert drink sweet savoury warm fresh tasty lovely expensive cheap quick late
missing wrong right again soon maybe sure great perfect awesome sorry problem question
cartão dinheiro pix boleto nota fiscal cpf recibo comprovante transferência parcelado
retirada balcão loja vitrine estacionamento horário feriado domingo segunda terça quarta
quinta sexta sábado janeiro fevereiro março abril maio junho julho agosto setembro outubro
novembro dezembro cardápio sabor recheio cobertura massa fermentação integral orgânico
vegano vegetariano lactose glúten açúcar adoçante canela chocolate morango maracujá coco
abacaxi goiabada requeijão presunto frango carne calabresa palmito milho ervilha azeitona
"""


def zipf_weights(count: int) -> list[float]:
    """Cumulative weights for rank 1..count with p(rank) ∝ 1/rank."""
    return list(itertools.accumulate(1 / rank for rank in range(1, count + 1)))


class TextMaker:
    """Deterministic for a given seed: the same command builds the same data."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocabulary = WORDS.split()
        rng.shuffle(self.vocabulary)  # which words are common is itself random
        self.cumulative = zipf_weights(len(self.vocabulary))

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            p=rng.choice(PRODUCTS),
            q=rng.choice(PRODUCTS),
            l=rng.choice(PLACES),
            n=rng.randint(2, 40),
            o=f"#{rng.randint(10000, 99999)}",
            f=rng.choice(FIRST_NAMES),
        )

    def text(self, inbound: bool) -> str:
        rng = self.rng
        english = rng.random() < 0.2
        if inbound:
            templates = CUSTOMER_EN if english else CUSTOMER_PT
        else:
            templates = REPLY_EN if english else REPLY_PT
        body = self._fill(rng.choice(templates))
        extra = rng.randint(0, 5)
        if extra:
            words = rng.choices(self.vocabulary, cum_weights=self.cumulative, k=extra)
            body += " " + " ".join(words)
        return body

    def name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
