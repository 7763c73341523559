"""PyTorch's sequence tutorials and pytorch/examples' word_language_model, ported to minicnn.

Each port is the tutorial's own code written against a ``torch`` argument, run once with real
torch and once with ``minicnn`` in its place, at a tiny scale (synthetic vocabularies and data):
same initial weights (torch's state_dict loaded into minicnn), same data, then the losses after a
few optimiser steps, the outputs and the predictions must agree to float32 tolerance.

- NLP From Scratch: Classifying Names with a Character-Level RNN (the manual RNN of nn.Linear +
  LogSoftmax, and the newer nn.RNN CharRNN with a Dataset, random_split and clip_grad_norm_);
- NLP From Scratch: Generating Names with a Character-Level RNN (o2o + Dropout, LongTensor
  targets with unsqueeze_, loss summed over steps, sampling with topk);
- Sequence Models and Long Short-Term Memory Networks (the LSTM demo and the LSTMTagger);
- examples/word_language_model: RNNModel (LSTM with tied weights, GRU, RNN_TANH/RELU) and the
  nn.Transformer-based TransformerModel, batchify/get_batch/repackage_hidden, manual SGD with
  clip_grad_norm_, perplexity; generate.py's sampling loop; torch.save(model) refused clearly;
- Language Modeling with nn.Transformer (TransformerEncoder, src_mask with is_causal, scaled
  embedding, SGD + StepLR);
- NLP From Scratch: Translation with a Sequence to Sequence Network and Attention (the current
  batch_first GRU + Bahdanau attention version and the older per-step one);
- Language Translation with nn.Transformer (Seq2SeqTransformer, bool/float masks, padding masks,
  CrossEntropyLoss(ignore_index), Adam, greedy decoding through encode/decode);
- a classifier of variable-length sentences with pad_sequence / pack_padded_sequence
  (enforce_sorted=False) / pad_packed_sequence around a bidirectional LSTM.

Where a port deviates from the tutorial, a comment says why: dropout is 0 (or the model in
eval mode) and random draws (randn inputs, shuffles, RandomSampler, random_split, multinomial)
are made once and shared, because the two libraries' random streams differ.
"""

# ruff: noqa: B007, B008, N802, UP008, UP018  (the tutorials' own names, super() calls and loops, kept as written)
from __future__ import annotations

import math
import os
import string
import tempfile
import warnings
from typing import Any

import numpy as np
import pytest
import torch as real_torch
from conftest import devices

import minicnn

# the tutorials' scale here: a loss after a few float32 steps agrees to about this
RTOL, ATOL = 2e-4, 2e-5

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, real_torch.Tensor) else t.detach().numpy()


def _dev(torch: Any, device: str) -> str:
    """The device each library runs on: torch always on the CPU, minicnn on ``device``."""
    return "cpu" if torch is real_torch else device


# ---------------------------------------------------------------------------------------------
# Classifying Names with a Character-Level RNN (the manual RNN)

ALL_LETTERS = string.ascii_letters + " .,;'"
N_LETTERS = len(ALL_LETTERS)
NAMES = ["Jones", "Smith", "O'Neal", "Dovesky", "Satoshi", "Hinton", "Nguyen", "Schmidt", "Rossi", "Kim"]
NAMES += ["Lee", "Ng", "Abbas", "Chen", "Zhang", "Garcia", "Lopez", "Ivanov", "Petrov", "Muller"]


def classify_names_manual(torch: Any, device: str, init: dict | None = None) -> tuple[Any, list, list]:
    nn = torch.nn
    device = _dev(torch, device)

    def letterToIndex(letter):
        return ALL_LETTERS.find(letter)

    def letterToTensor(letter):
        tensor = torch.zeros(1, N_LETTERS, device=device)
        tensor[0][letterToIndex(letter)] = 1
        return tensor

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, N_LETTERS, device=device)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            combined = torch.cat((input, hidden), 1)
            hidden = self.i2h(combined)
            output = self.h2o(hidden)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size, device=device)

    all_categories = ["English", "Russian", "Other"]
    rnn = RNN(N_LETTERS, 16, len(all_categories))
    if init is not None:
        rnn.load_state_dict(init)
    rnn.to(device)
    assert letterToTensor("J")[0, ALL_LETTERS.find("J")].item() == 1 and lineToTensor("Jones").size() == (5, 1, 57)
    criterion = nn.NLLLoss()
    learning_rate = 0.005

    def categoryFromOutput(output):
        top_n, top_i = output.topk(1)
        category_i = top_i[0].item()
        return all_categories[category_i], category_i

    def train(category_tensor, line_tensor):
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        # Add parameters' gradients to their values, multiplied by learning rate
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item()

    history = []
    for k, line in enumerate(NAMES):
        category = all_categories[k % 3]
        category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long, device=device)
        output, loss = train(category_tensor, lineToTensor(line))
        history.append((loss, categoryFromOutput(output)))

    def evaluate(line_tensor):
        hidden = rnn.initHidden()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        return output

    with torch.no_grad():
        output = evaluate(lineToTensor("Dovesky"))
        topv, topi = output.topk(3, 1, True)
        predictions = [(topv[0][i].item(), all_categories[topi[0][i].item()]) for i in range(3)]
    return rnn, history, predictions


@pytest.mark.parametrize("device", devices())
def test_classifying_names_manual_rnn(device: str) -> None:
    real_torch.manual_seed(0)
    init = classify_names_manual(real_torch, "cpu")[0].state_dict()
    _, t_hist, t_pred = classify_names_manual(real_torch, "cpu", init)
    _, m_hist, m_pred = classify_names_manual(minicnn, device, init)
    np.testing.assert_allclose([h[0] for h in m_hist], [h[0] for h in t_hist], rtol=RTOL, atol=ATOL)
    assert [h[1] for h in m_hist] == [h[1] for h in t_hist]
    np.testing.assert_allclose([p[0] for p in m_pred], [p[0] for p in t_pred], rtol=RTOL, atol=ATOL)
    assert [p[1] for p in m_pred] == [p[1] for p in t_pred]


# ---------------------------------------------------------------------------------------------
# Classifying Names, the current version: nn.RNN, a Dataset, random_split, SGD with clipping


def classify_names_charrnn(torch: Any, device: str, init: dict | None = None) -> tuple[Any, list, np.ndarray]:
    nn = torch.nn
    device = _dev(torch, device)
    allowed_characters = string.ascii_letters + " .,;'" + "_"
    n_letters = len(allowed_characters)

    def letterToIndex(letter):
        # return our out-of-vocabulary character if we encounter a letter unknown to our model
        if letter not in allowed_characters:
            return allowed_characters.find("_")
        else:
            return allowed_characters.find(letter)

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    class NamesDataset(torch.utils.data.Dataset):
        def __init__(self, pairs):
            self.data = []
            self.data_tensors = []
            self.labels = []
            self.labels_tensors = []
            for label, name in pairs:
                self.data.append(name)
                self.data_tensors.append(lineToTensor(name).to(device))
                self.labels.append(label)
            self.labels_uniq = sorted(set(self.labels))
            for idx in range(len(self.labels)):
                temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])], dtype=torch.long)
                self.labels_tensors.append(temp_tensor.to(device))

        def __len__(self):
            return len(self.data)

        def __getitem__(self, idx):
            return self.labels_tensors[idx], self.data_tensors[idx], self.labels[idx], self.data[idx]

    pairs = [(["English", "Russian", "Other"][i % 3], n + "ü" * (i % 4 == 0)) for i, n in enumerate(NAMES)]
    alldata = NamesDataset(pairs)
    train_set, test_set = torch.utils.data.random_split(
        alldata, [0.85, 0.15], generator=torch.Generator(device="cpu").manual_seed(2024)
    )
    assert (len(train_set), len(test_set)) == (17, 3)
    # the two libraries draw different permutations: both use the same split from here on
    train_set = torch.utils.data.Subset(alldata, list(range(17)))
    test_set = torch.utils.data.Subset(alldata, [17, 18, 19])

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(CharRNN, self).__init__()
            self.rnn = nn.RNN(input_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, line_tensor):
            rnn_out, hidden = self.rnn(line_tensor)
            output = self.h2o(hidden[0])
            output = self.softmax(output)
            return output

    rnn = CharRNN(n_letters, 16, len(alldata.labels_uniq))
    if init is not None:
        rnn.load_state_dict(init)
    rnn.to(device)

    def train(rnn, training_data, n_epoch=3, n_batch_size=4, learning_rate=0.2, criterion=nn.NLLLoss()):
        current_loss = 0
        all_losses = []
        rnn.train()
        optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
        order = np.random.default_rng(0)  # the tutorial's random.shuffle, drawn once for both libraries
        for iter in range(1, n_epoch + 1):
            rnn.zero_grad()  # clear the gradients
            batches = list(range(len(training_data)))
            order.shuffle(batches)
            batches = np.array_split(batches, len(batches) // n_batch_size)
            for idx, batch in enumerate(batches):
                batch_loss = 0
                for i in batch:  # for each example in this batch
                    (label_tensor, text_tensor, label, text) = training_data[i]
                    output = rnn.forward(text_tensor)
                    loss = criterion(output, label_tensor)
                    batch_loss += loss
                # optimize parameters
                batch_loss.backward()
                nn.utils.clip_grad_norm_(rnn.parameters(), 3)
                optimizer.step()
                optimizer.zero_grad()
                current_loss += batch_loss.item() / len(batch)
            all_losses.append(current_loss / len(batches))
            current_loss = 0
        return all_losses

    all_losses = train(rnn, train_set)
    classes = alldata.labels_uniq
    confusion = torch.zeros(len(classes), len(classes))
    rnn.eval()
    with torch.no_grad():  # do not record the gradients during eval phase
        for i in range(len(test_set)):
            (label_tensor, text_tensor, label, text) = test_set[i]
            output = rnn(text_tensor)
            top_n, top_i = output.topk(1)
            guess_i = top_i[0].item()
            label_i = classes.index(label)
            confusion[label_i][guess_i] += 1
    # Normalize by dividing every row by its sum
    denom = confusion.sum(1).unsqueeze(1)
    confusion = confusion / denom
    return rnn, all_losses, confusion.cpu().numpy()


@pytest.mark.parametrize("device", devices())
def test_classifying_names_charrnn(device: str) -> None:
    real_torch.manual_seed(1)
    init = classify_names_charrnn(real_torch, "cpu")[0].state_dict()
    t_rnn, t_losses, t_conf = classify_names_charrnn(real_torch, "cpu", init)
    m_rnn, m_losses, m_conf = classify_names_charrnn(minicnn, device, init)
    np.testing.assert_allclose(m_losses, t_losses, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(m_conf, t_conf, equal_nan=True)
    assert repr(m_rnn) == repr(t_rnn)


# ---------------------------------------------------------------------------------------------
# Generating Names with a Character-Level RNN


def generate_names(torch: Any, device: str, init: dict | None = None) -> tuple[Any, list, list]:
    nn = torch.nn
    device = _dev(torch, device)
    all_letters = string.ascii_letters + " .,;'-"
    n_letters = len(all_letters) + 1  # Plus EOS marker
    all_categories = ["English", "Russian"]
    n_categories = len(all_categories)

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size, device=device)

    # One-hot vector for category
    def categoryTensor(category):
        li = all_categories.index(category)
        tensor = torch.zeros(1, n_categories, device=device)
        tensor[0][li] = 1
        return tensor

    # One-hot matrix of first to last letters (not including EOS) for input
    def inputTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters, device=device)
        for li in range(len(line)):
            letter = line[li]
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    # ``LongTensor`` of second letter to end (EOS) for target
    def targetTensor(line):
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n_letters - 1)  # EOS
        return torch.LongTensor(letter_indexes).to(device)

    criterion = nn.NLLLoss()
    learning_rate = 0.0005
    rnn = RNN(n_letters, 32, n_letters)
    if init is not None:
        rnn.load_state_dict(init)
    rnn.to(device)
    rnn.eval()  # the tutorial trains with Dropout(0.1) on; off here, so both libraries draw nothing

    def train(category_tensor, input_line_tensor, target_line_tensor):
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        loss = torch.Tensor([0]).to(device)  # you can also just simply use ``loss = 0`` (.to: for a GPU run)
        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])  # noqa: E741  (the tutorial's name)
            loss += l
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item() / input_line_tensor.size(0)

    losses = []
    for k, line in enumerate(NAMES[:8]):
        losses.append(train(categoryTensor(all_categories[k % 2]), inputTensor(line), targetTensor(line))[1])

    max_length = 10

    # Sample from a category and starting letter
    def sample(category, start_letter="A"):
        with torch.no_grad():  # no need to track history in sampling
            category_tensor = categoryTensor(category)
            input = inputTensor(start_letter)
            hidden = rnn.initHidden()
            output_name = start_letter
            for i in range(max_length):
                output, hidden = rnn(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n_letters - 1:
                    break
                else:
                    letter = all_letters[topi]
                    output_name += letter
                input = inputTensor(letter)
            return output_name

    return rnn, losses, [sample(c, s) for c in all_categories for s in "RUS"]


@pytest.mark.parametrize("device", devices())
def test_generating_names(device: str) -> None:
    real_torch.manual_seed(2)
    init = generate_names(real_torch, "cpu")[0].state_dict()
    _, t_losses, t_names = generate_names(real_torch, "cpu", init)
    _, m_losses, m_names = generate_names(minicnn, device, init)
    np.testing.assert_allclose(m_losses, t_losses, rtol=RTOL, atol=ATOL)
    assert m_names == t_names


# ---------------------------------------------------------------------------------------------
# Sequence Models and Long Short-Term Memory Networks


def lstm_demo(torch: Any, device: str, lstm_init: dict, data: dict) -> list[np.ndarray]:
    nn = torch.nn
    device = _dev(torch, device)
    lstm = nn.LSTM(3, 3)  # Input dim is 3, output dim is 3
    lstm.load_state_dict(lstm_init)
    lstm.to(device)
    # the tutorial's inputs = [torch.randn(1, 3) for _ in range(5)] and randn hidden, drawn once for both
    inputs = [torch.tensor(a, device=device) for a in data["inputs"]]
    hidden = (torch.tensor(data["h"], device=device), torch.tensor(data["c"], device=device))
    step_outs = []
    for i in inputs:
        # Step through the sequence one element at a time.
        # after each step, hidden contains the hidden state.
        out, hidden = lstm(i.view(1, 1, -1), hidden)
        step_outs.append(out)
    inputs = torch.cat(inputs).view(len(inputs), 1, -1)
    hidden = (torch.tensor(data["h2"], device=device), torch.tensor(data["c2"], device=device))  # clean out hidden
    out, hidden = lstm(inputs, hidden)
    return [_np(torch.cat(step_outs)), _np(out), _np(hidden[0]), _np(hidden[1])]


@pytest.mark.parametrize("device", devices())
def test_lstm_demo(device: str) -> None:
    real_torch.manual_seed(1)
    init = real_torch.nn.LSTM(3, 3).state_dict()
    g = np.random.default_rng(0)
    data = {k: g.standard_normal(s).astype(np.float32) for k, s in [("h", (1, 1, 3)), ("c", (1, 1, 3))]}
    data |= {k: g.standard_normal((1, 1, 3)).astype(np.float32) for k in ("h2", "c2")}
    data["inputs"] = [g.standard_normal((1, 3)).astype(np.float32) for _ in range(5)]
    for m, t in zip(lstm_demo(minicnn, device, init, data), lstm_demo(real_torch, "cpu", init, data)):
        assert m.shape == t.shape
        np.testing.assert_allclose(m, t, rtol=RTOL, atol=ATOL)


def lstm_tagger(torch: Any, device: str, init: dict | None = None) -> tuple[Any, np.ndarray, list, np.ndarray]:
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    device = _dev(torch, device)

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return torch.tensor(idxs, dtype=torch.long, device=device)

    training_data = [
        # Tags are: DET - determiner; NN - noun; V - verb
        # For example, the word "The" is a determiner
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ]
    word_to_ix = {}
    # For each words-list (sentence) and tags-list in each tuple of training_data
    for sent, tags in training_data:
        for word in sent:
            if word not in word_to_ix:  # word has not been assigned an index yet
                word_to_ix[word] = len(word_to_ix)  # Assign each word with a unique index
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}  # Assign each tag with a unique index
    EMBEDDING_DIM = 6
    HIDDEN_DIM = 6

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super(LSTMTagger, self).__init__()
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            # The LSTM takes word embeddings as inputs, and outputs hidden states
            # with dimensionality hidden_dim.
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            # The linear layer that maps from hidden state space to tag space
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
    if init is not None:
        model.load_state_dict(init)
    model.to(device)
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    # See what the scores are before training
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        before = _np(model(inputs))
    losses = []
    for epoch in range(15):  # the tutorial: 300 epochs of toy data
        for sentence, tags in training_data:
            # Step 1. Remember that Pytorch accumulates gradients.
            model.zero_grad()
            # Step 2. Get our inputs ready for the network
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            # Step 3. Run our forward pass.
            tag_scores = model(sentence_in)
            # Step 4. Compute the loss, gradients, and update the parameters
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    # See what the scores are after training
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
    return model, before, losses, _np(tag_scores)


@pytest.mark.parametrize("device", devices())
def test_lstm_tagger(device: str) -> None:
    real_torch.manual_seed(1)
    init = lstm_tagger(real_torch, "cpu")[0].state_dict()
    t_model, *t_res = lstm_tagger(real_torch, "cpu", init)
    m_model, *m_res = lstm_tagger(minicnn, device, init)
    for m, t in zip(m_res, t_res):
        np.testing.assert_allclose(m, t, rtol=RTOL, atol=ATOL)
    assert repr(m_model) == repr(t_model)


# ---------------------------------------------------------------------------------------------
# examples/word_language_model: model.py, main.py's training and evaluation, generate.py


def word_language_models(torch: Any) -> tuple[type, type]:
    nn = torch.nn
    F = torch.nn.functional

    class RNNModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder."""

        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
            super(RNNModel, self).__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            if rnn_type in ["LSTM", "GRU"]:
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            else:
                try:
                    nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
                except KeyError as e:
                    raise ValueError(
                        """An invalid option for `--model` was supplied,
                                     options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']"""
                    ) from e
                self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            # Optionally tie weights as in:
            # "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
            if tie_weights:
                if nhid != ninp:
                    raise ValueError("When using the tied flag, nhid must be equal to emsize")
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            if self.rnn_type == "LSTM":
                return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))
            else:
                return weight.new_zeros(self.nlayers, bsz, self.nhid)

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super(PositionalEncoding, self).__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer("pe", pe)

        def forward(self, x):
            x = x + self.pe[: x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn.Transformer):
        """Container module with an encoder, a recurrent or transformer module, and a decoder."""

        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            # the example leaves nn.Transformer's own dropout at 0.1; passed on here so that
            # training draws no dropout masks (which the two libraries draw differently)
            super(TransformerModel, self).__init__(
                d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers, dropout=dropout
            )
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)
            self.init_weights()

        def _generate_square_subsequent_mask(self, sz):
            return torch.log(torch.tril(torch.ones(sz, sz)))

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    mask = self._generate_square_subsequent_mask(len(src)).to(device)
                    self.src_mask = mask
            else:
                self.src_mask = None
            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    return RNNModel, TransformerModel


def batchify(data: Any, bsz: int, device: str) -> Any:
    # Work out how cleanly we can divide the dataset into bsz parts.
    nbatch = data.size(0) // bsz
    # Trim off any extra elements that wouldn't cleanly fit (remainders).
    data = data.narrow(0, 0, nbatch * bsz)
    # Evenly divide the data across the bsz batches.
    data = data.view(bsz, -1).t().contiguous()
    return data.to(device)


def repackage_hidden(torch: Any, h: Any) -> Any:
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(torch, v) for v in h)


def get_batch(source: Any, i: int, bptt: int) -> tuple[Any, Any]:
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i : i + seq_len]
    target = source[i + 1 : i + 1 + seq_len].view(-1)
    return data, target


def train_word_language_model(
    torch: Any, device: str, model: Any, ids: np.ndarray, ntokens: int, lr: float
) -> tuple[list, float, float]:
    device = _dev(torch, device)
    model.to(device)
    criterion = torch.nn.NLLLoss()
    # Load data (corpus.train / corpus.valid of data.py: torch.tensor(ids).type(torch.int64), cat'ed)
    train_ids = torch.cat([torch.tensor(ids[k : k + 10].tolist()).type(torch.int64) for k in range(0, len(ids), 10)])
    train_data = batchify(train_ids, 4, device)
    val_data = batchify(train_ids[:41], 2, device)
    bptt, clip = 5, 0.25
    # Turn on training mode which enables dropout.
    is_transformer_model = hasattr(model, "model_type") and model.model_type == "Transformer"
    model.train()
    if not is_transformer_model:
        hidden = model.init_hidden(4)
    losses = []
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i, bptt)
        # Starting each batch, we detach the hidden state from how it was previously produced.
        # If we didn't, the model would try backpropagating all the way to start of the dataset.
        model.zero_grad()
        if is_transformer_model:
            output = model(data)
            output = output.view(-1, ntokens)
        else:
            hidden = repackage_hidden(torch, hidden)
            output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    # evaluate(val_data)
    model.eval()
    total_loss = 0.0
    if not is_transformer_model:
        hidden = model.init_hidden(2)
    with torch.no_grad():
        for i in range(0, val_data.size(0) - 1, bptt):
            data, targets = get_batch(val_data, i, bptt)
            if is_transformer_model:
                output = model(data)
                output = output.view(-1, ntokens)
            else:
                output, hidden = model(data, hidden)
                hidden = repackage_hidden(torch, hidden)
            total_loss += len(data) * criterion(output, targets).item()
    val_loss = total_loss / (len(val_data) - 1)
    return losses, val_loss, math.exp(val_loss)


def generate_words(torch: Any, device: str, model: Any, ntokens: int, draws: list[int] | None) -> tuple[list, list]:
    """generate.py's loop; ``draws`` (torch's multinomial picks) replace minicnn's own draws."""
    device = _dev(torch, device)
    idx2word = [f"w{k}" for k in range(ntokens)]
    model.eval()
    is_transformer_model = hasattr(model, "model_type") and model.model_type == "Transformer"
    if not is_transformer_model:
        hidden = model.init_hidden(1)
    input = torch.randint(ntokens, (1, 1), dtype=torch.long).to(device)
    input.fill_(3)  # the same first word for both libraries
    words, weights = [], []
    with torch.no_grad():  # no tracking history
        for i in range(6):
            if is_transformer_model:
                output = model(input, False)
                word_weights = output[-1].squeeze().div(1.0).exp().cpu()
            else:
                output, hidden = model(input, hidden)
                word_weights = output.squeeze().div(1.0).exp().cpu()
            word_idx = torch.multinomial(word_weights, 1)[0]
            assert 0 <= word_idx.item() < ntokens
            if draws is not None:
                word_idx = torch.tensor(draws[i])
            if is_transformer_model:
                word_tensor = torch.Tensor([[word_idx]]).long().to(device)
                input = torch.cat([input, word_tensor], 0)
            else:
                input.fill_(word_idx)
            words.append(idx2word[word_idx])
            weights.append(_np(word_weights))
    return words, weights


WLM_CONFIGS = [
    ("LSTM", (13, 8, 8, 2, 0.0, True)),
    ("GRU", (13, 8, 6, 2, 0.0)),
    ("RNN_TANH", (13, 8, 6, 1, 0.0)),
    ("RNN_RELU", (13, 8, 6, 2, 0.0)),
    ("Transformer", (13, 8, 2, 16, 2, 0.0)),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(("kind", "args"), WLM_CONFIGS)
def test_word_language_model(device: str, kind: str, args: tuple) -> None:
    ntokens = args[0]
    ids = np.random.default_rng(0).integers(0, ntokens, 83)
    real_torch.manual_seed(3)
    models = []
    for lib in (real_torch, minicnn):
        RNNModel, TransformerModel = word_language_models(lib)
        models.append(TransformerModel(*args) if kind == "Transformer" else RNNModel(kind, *args))
    t_model, m_model = models
    m_model.load_state_dict(t_model.state_dict())
    assert repr(m_model) == repr(t_model)
    assert [n for n, _ in m_model.named_parameters()] == [n for n, _ in t_model.named_parameters()]  # tied: once
    if kind == "LSTM":
        assert m_model.decoder.weight is m_model.encoder.weight
    lr = 0.5 if kind == "Transformer" else 20.0
    t_res = train_word_language_model(real_torch, "cpu", t_model, ids, ntokens, lr)
    m_res = train_word_language_model(minicnn, device, m_model, ids, ntokens, lr)
    np.testing.assert_allclose(m_res[0], t_res[0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(m_res[1:], t_res[1:], rtol=RTOL, atol=ATOL)
    t_words, t_weights = generate_words(real_torch, "cpu", t_model, ntokens, None)
    m_words, m_weights = generate_words(minicnn, device, m_model, ntokens, [int(w[1:]) for w in t_words])
    assert m_words == t_words
    np.testing.assert_allclose(np.stack(m_weights), np.stack(t_weights), rtol=RTOL, atol=ATOL)


def test_word_language_model_torch_save_of_a_whole_model_is_refused_clearly(tmp_path: Any) -> None:
    """main.py saves the whole model (``torch.save(model, f)``), which needs pickle: minicnn
    refuses it with an error that names the alternative, and loads nothing from the file."""
    RNNModel, _ = word_language_models(minicnn)
    model = RNNModel("LSTM", 13, 8, 8, 2, 0.0, True)
    with open(tmp_path / "model.pt", "wb") as f, pytest.raises(TypeError, match=r"state_dict\(\)"):
        minicnn.save(model, f)
    minicnn.save(model.state_dict(), tmp_path / "model.pt")
    model2 = RNNModel("LSTM", 13, 8, 8, 2, 0.0, True)
    model2.load_state_dict(minicnn.load(tmp_path / "model.pt"))
    # after loading, main.py makes the RNN's parameters a continuous chunk (a no-op here, as on the CPU)
    model2.rnn.flatten_parameters()
    for (n, p), (_, q) in zip(model.state_dict().items(), model2.state_dict().items()):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q), err_msg=n)


# ---------------------------------------------------------------------------------------------
# Language Modeling with nn.Transformer (the tutorial's model; torchtext's data replaced)


def transformer_language_model(torch: Any, device: str, init: dict | None, ids: np.ndarray) -> tuple:
    nn = torch.nn
    device = _dev(torch, device)
    TransformerEncoder, TransformerEncoderLayer = nn.TransformerEncoder, nn.TransformerEncoderLayer
    Tensor = torch.Tensor

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x: Tensor) -> Tensor:
            """
            Arguments:
                x: Tensor, shape ``[seq_len, batch_size, embedding_dim]``
            """
            x = x + self.pe[: x.size(0)]
            return self.dropout(x)

    class TransformerModel(nn.Module):
        def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int, nlayers: int, dropout: float = 0.5):
            super().__init__()
            self.model_type = "Transformer"
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)
            self.init_weights()

        def init_weights(self) -> None:
            initrange = 0.1
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-initrange, initrange)

        def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
            """
            Arguments:
                src: Tensor, shape ``[seq_len, batch_size]``
                src_mask: Tensor, shape ``[seq_len, seq_len]``

            Returns:
                output Tensor of shape ``[seq_len, batch_size, ntoken]``
            """
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            if src_mask is None:
                """Generate a square causal mask for the sequence. The masked positions are filled with float('-inf').
                Unmasked positions are filled with float(0.0).
                """
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src)).to(src.device)
            output = self.transformer_encoder(src, src_mask, is_causal=True)
            output = self.linear(output)
            return output

    def batchify(data: Tensor, bsz: int) -> Tensor:
        seq_len = data.size(0) // bsz
        data = data[: seq_len * bsz]
        data = data.view(bsz, seq_len).t().contiguous()
        return data.to(device)

    bptt = 6

    def get_batch(source: Tensor, i: int) -> tuple[Tensor, Tensor]:
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].reshape(-1)
        return data, target

    ntokens = 11
    model = TransformerModel(ntokens, 8, 2, 16, 2, 0.0)  # dropout 0: no random masks to compare
    if init is not None:
        model.load_state_dict(init)
    model.to(device)

    def data_process(raw_text_iter):
        """Converts raw text into a flat Tensor (here: lines of token ids, some empty)."""
        data = [torch.tensor(item, dtype=torch.long) for item in raw_text_iter]
        return torch.cat(tuple(filter(lambda t: t.numel() > 0, data)))

    train_data = batchify(data_process([ids[:40].tolist(), [], ids[40:].tolist()]), 4)
    criterion = nn.CrossEntropyLoss()
    lr = 5.0  # learning rate
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    losses, lrs = [], []
    for epoch in range(2):
        model.train()  # turn on train mode
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            loss = criterion(output_flat, targets)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
    with tempfile.TemporaryDirectory() as tempdir:
        best_model_params_path = os.path.join(tempdir, "best_model_params.pt")
        torch.save(model.state_dict(), best_model_params_path)
        model.linear.bias.data.zero_()  # (not in the tutorial: so that loading must restore it)
        model.load_state_dict(torch.load(best_model_params_path))  # load best model states
    model.eval()  # turn on evaluation mode
    total_loss = 0.0
    with torch.no_grad():
        for i in range(0, train_data.size(0) - 1, bptt):
            data, targets = get_batch(train_data, i)
            seq_len = data.size(0)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            total_loss += seq_len * criterion(output_flat, targets).item()
    return model, losses, lrs, total_loss / (len(train_data) - 1), _np(model.pos_encoder.pe)


@pytest.mark.parametrize("device", devices())
def test_transformer_language_model(device: str) -> None:
    ids = np.random.default_rng(0).integers(0, 11, 100)
    real_torch.manual_seed(4)
    init = transformer_language_model(real_torch, "cpu", None, ids[:10])[0].state_dict()
    _, t_losses, t_lrs, t_val, t_pe = transformer_language_model(real_torch, "cpu", init, ids)
    _, m_losses, m_lrs, m_val, m_pe = transformer_language_model(minicnn, device, init, ids)
    np.testing.assert_allclose(m_pe, t_pe, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m_losses, t_losses, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(m_lrs, t_lrs, rtol=1e-7)
    np.testing.assert_allclose(m_val, t_val, rtol=RTOL)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("sz", [1, 5])
def test_the_causal_masks_the_tutorials_build(device: str, sz: int) -> None:
    """nn.Transformer.generate_square_subsequent_mask, triu of -inf, log of tril, and the old
    tutorial's masked_fill form: the same float mask as torch's."""

    def masks(torch: Any, device: str) -> list[np.ndarray]:
        device = _dev(torch, device)
        old = (torch.triu(torch.ones(sz, sz, device=device)) == 1).transpose(0, 1)
        old = old.float().masked_fill(old == 0, float("-inf")).masked_fill(old == 1, float(0.0))
        return [
            _np(torch.nn.Transformer.generate_square_subsequent_mask(sz, device=device)),
            _np(torch.triu(torch.ones(sz, sz, device=device) * float("-inf"), diagonal=1)),
            _np(torch.log(torch.tril(torch.ones(sz, sz, device=device)))),
            _np(old),
        ]

    for m, t in zip(masks(minicnn, device), masks(real_torch, "cpu")):
        assert m.dtype == t.dtype
        np.testing.assert_array_equal(m, t)


# ---------------------------------------------------------------------------------------------
# Translation with a Sequence to Sequence Network and Attention

SOS_token, EOS_token, MAX_LENGTH = 0, 1, 6


def seq2seq_models(torch: Any, device: str) -> tuple[type, type, type]:
    nn = torch.nn
    F = torch.nn.functional

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super(EncoderRNN, self).__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class DecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size):
            super(DecoderRNN, self).__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden = self.forward_step(decoder_input, decoder_hidden)
                decoder_outputs.append(decoder_output)
                if target_tensor is not None:
                    # Teacher forcing: Feed the target as the next input
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    # Without teacher forcing: use its own predictions as the next input
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()  # detach from history as input
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            return decoder_outputs, decoder_hidden, None  # We return `None` for consistency in the training loop

        def forward_step(self, input, hidden):
            output = self.embedding(input)
            output = F.relu(output)
            output, hidden = self.gru(output, hidden)
            output = self.out(output)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super(BahdanauAttention, self).__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super(AttnDecoderRNN, self).__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            attentions = []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None:
                    # Teacher forcing: Feed the target as the next input
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    # Without teacher forcing: use its own predictions as the next input
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()  # detach from history as input
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    return EncoderRNN, DecoderRNN, AttnDecoderRNN


def translate(torch: Any, device: str, attention: bool, init: tuple | None = None) -> tuple:
    device = _dev(torch, device)
    nn = torch.nn
    optim = torch.optim
    EncoderRNN, DecoderRNN, AttnDecoderRNN = seq2seq_models(torch, device)
    # the tutorial's dropout_p=0.1, off here: the libraries' dropout masks differ
    encoder = EncoderRNN(10, 8, dropout_p=0.0).to(device)
    decoder = (AttnDecoderRNN(8, 9, dropout_p=0.0) if attention else DecoderRNN(8, 9)).to(device)
    if init is not None:
        encoder.load_state_dict(init[0])
        decoder.load_state_dict(init[1])
    g = np.random.default_rng(0)
    pairs = [
        (g.integers(2, 10, g.integers(1, MAX_LENGTH)), g.integers(2, 9, g.integers(1, MAX_LENGTH))) for _ in range(10)
    ]

    def get_dataloader(batch_size):
        n = len(pairs)
        input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        for idx, (inp_ids, tgt_ids) in enumerate(pairs):
            inp_ids = list(inp_ids) + [EOS_token]
            tgt_ids = list(tgt_ids) + [EOS_token]
            input_ids[idx, : len(inp_ids)] = inp_ids
            target_ids[idx, : len(tgt_ids)] = tgt_ids
        train_data = torch.utils.data.TensorDataset(
            torch.LongTensor(input_ids).to(device), torch.LongTensor(target_ids).to(device)
        )
        # the tutorial's RandomSampler draws a different order in each library
        train_sampler = torch.utils.data.SequentialSampler(train_data)
        train_dataloader = torch.utils.data.DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)
        return train_dataloader

    def train_epoch(dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion):
        total_loss = 0
        for data in dataloader:
            input_tensor, target_tensor = data
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
            loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
        return total_loss / len(dataloader)

    train_dataloader = get_dataloader(4)
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01)
    criterion = nn.NLLLoss()
    losses = [
        train_epoch(train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion)
        for epoch in range(3)
    ]
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        input_tensor = torch.tensor([3, 4, 5, EOS_token], dtype=torch.long, device=device).view(1, -1)
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
        decoded_words = []
        for idx in decoded_ids:
            if idx.item() == EOS_token:
                decoded_words.append("<EOS>")
                break
            decoded_words.append(f"w{idx.item()}")
    attn = None if decoder_attn is None else _np(decoder_attn[0, : len(decoded_words), :])
    return (encoder.state_dict(), decoder.state_dict()), losses, decoded_words, _np(decoder_outputs), attn


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_translation(device: str, attention: bool) -> None:
    real_torch.manual_seed(5)
    init = translate(real_torch, "cpu", attention)[0]
    _, *t_res = translate(real_torch, "cpu", attention, init)
    _, *m_res = translate(minicnn, device, attention, init)
    np.testing.assert_allclose(m_res[0], t_res[0], rtol=RTOL, atol=ATOL)
    assert m_res[1] == t_res[1]
    np.testing.assert_allclose(m_res[2], t_res[2], rtol=RTOL, atol=ATOL)
    if attention:
        np.testing.assert_allclose(m_res[3], t_res[3], rtol=RTOL, atol=ATOL)


def translate_old(torch: Any, device: str, init: tuple | None = None) -> tuple:
    """The tutorial's earlier version: one sentence at a time, encoder outputs written into a
    zeros tensor by index, a loss summed from 0, teacher forcing on every other pair."""
    nn = torch.nn
    F = torch.nn.functional
    device = _dev(torch, device)

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size):
            super(EncoderRNN, self).__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size)

        def forward(self, input, hidden):
            embedded = self.embedding(input).view(1, 1, -1)
            output = embedded
            output, hidden = self.gru(output, hidden)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, 1, self.hidden_size, device=device)

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1, max_length=MAX_LENGTH):
            super(AttnDecoderRNN, self).__init__()
            self.hidden_size = hidden_size
            self.output_size = output_size
            self.dropout_p = dropout_p
            self.max_length = max_length
            self.embedding = nn.Embedding(self.output_size, self.hidden_size)
            self.attn = nn.Linear(self.hidden_size * 2, self.max_length)
            self.attn_combine = nn.Linear(self.hidden_size * 2, self.hidden_size)
            self.dropout = nn.Dropout(self.dropout_p)
            self.gru = nn.GRU(self.hidden_size, self.hidden_size)
            self.out = nn.Linear(self.hidden_size, self.output_size)

        def forward(self, input, hidden, encoder_outputs):
            embedded = self.embedding(input).view(1, 1, -1)
            embedded = self.dropout(embedded)
            attn_weights = F.softmax(self.attn(torch.cat((embedded[0], hidden[0]), 1)), dim=1)
            attn_applied = torch.bmm(attn_weights.unsqueeze(0), encoder_outputs.unsqueeze(0))
            output = torch.cat((embedded[0], attn_applied[0]), 1)
            output = self.attn_combine(output).unsqueeze(0)
            output = F.relu(output)
            output, hidden = self.gru(output, hidden)
            output = F.log_softmax(self.out(output[0]), dim=1)
            return output, hidden, attn_weights

    def train(input_tensor, target_tensor, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion,
              use_teacher_forcing, max_length=MAX_LENGTH):  # fmt: skip
        encoder_hidden = encoder.initHidden()
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        input_length = input_tensor.size(0)
        target_length = target_tensor.size(0)
        encoder_outputs = torch.zeros(max_length, encoder.hidden_size, device=device)
        loss = 0
        for ei in range(input_length):
            encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
            encoder_outputs[ei] = encoder_output[0, 0]
        decoder_input = torch.tensor([[SOS_token]], device=device)
        decoder_hidden = encoder_hidden
        if use_teacher_forcing:
            # Teacher forcing: Feed the target as the next input
            for di in range(target_length):
                decoder_output, decoder_hidden, decoder_attention = decoder(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                loss += criterion(decoder_output, target_tensor[di])
                decoder_input = target_tensor[di]  # Teacher forcing
        else:
            # Without teacher forcing: use its own predictions as the next input
            for di in range(target_length):
                decoder_output, decoder_hidden, decoder_attention = decoder(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                topv, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze().detach()  # detach from history as input
                loss += criterion(decoder_output, target_tensor[di])
                if decoder_input.item() == EOS_token:
                    break
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        return loss.item() / target_length

    def evaluate(encoder, decoder, input_tensor, max_length=MAX_LENGTH):
        with torch.no_grad():
            input_length = input_tensor.size()[0]
            encoder_hidden = encoder.initHidden()
            encoder_outputs = torch.zeros(max_length, encoder.hidden_size, device=device)
            for ei in range(input_length):
                encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
                encoder_outputs[ei] += encoder_output[0, 0]
            decoder_input = torch.tensor([[SOS_token]], device=device)  # SOS
            decoder_hidden = encoder_hidden
            decoded_words = []
            decoder_attentions = torch.zeros(max_length, max_length)
            for di in range(max_length):
                decoder_output, decoder_hidden, decoder_attention = decoder(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                decoder_attentions[di] = decoder_attention.data.cpu()
                topv, topi = decoder_output.data.topk(1)
                if topi.item() == EOS_token:
                    decoded_words.append("<EOS>")
                    break
                else:
                    decoded_words.append(f"w{topi.item()}")
                decoder_input = topi.squeeze().detach()
            return decoded_words, decoder_attentions[: di + 1]

    encoder, decoder = EncoderRNN(10, 8), AttnDecoderRNN(8, 9, dropout_p=0.0)
    if init is not None:
        encoder.load_state_dict(init[0])
        decoder.load_state_dict(init[1])
    encoder.to(device)
    decoder.to(device)
    g = np.random.default_rng(1)

    def tensorFromIds(ids):
        ids = list(ids) + [EOS_token]
        return torch.tensor(ids, dtype=torch.long, device=device).view(-1, 1)

    pairs = [
        (
            tensorFromIds(g.integers(2, 10, g.integers(1, MAX_LENGTH - 1))),
            tensorFromIds(g.integers(2, 9, g.integers(1, 4))),
        )
        for _ in range(5)
    ]
    encoder_optimizer = torch.optim.SGD(encoder.parameters(), lr=0.05)
    decoder_optimizer = torch.optim.SGD(decoder.parameters(), lr=0.05)
    criterion = nn.NLLLoss()
    losses = [
        train(i, t, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion, k % 2 == 0)
        for k, (i, t) in enumerate(pairs * 2)
    ]
    words, attentions = evaluate(encoder, decoder, pairs[0][0])
    return (encoder.state_dict(), decoder.state_dict()), losses, words, _np(attentions)


@pytest.mark.parametrize("device", devices())
def test_seq2seq_translation_old_version(device: str) -> None:
    real_torch.manual_seed(6)
    init = translate_old(real_torch, "cpu")[0]
    _, *t_res = translate_old(real_torch, "cpu", init)
    _, *m_res = translate_old(minicnn, device, init)
    np.testing.assert_allclose(m_res[0], t_res[0], rtol=RTOL, atol=ATOL)
    assert m_res[1] == t_res[1]
    np.testing.assert_allclose(m_res[2], t_res[2], rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Variable-length sentences: pad_sequence, pack_padded_sequence(enforce_sorted=False), LSTM


def packed_classifier(torch: Any, device: str, init: dict | None = None) -> tuple:
    nn = torch.nn
    device = _dev(torch, device)
    from_rnn = torch.nn.utils.rnn

    class Classifier(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_dim, n_classes):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(hidden_dim * 2, n_classes)

        def forward(self, text, text_lengths):
            embedded = self.embedding(text)
            # lengths on the CPU, as pack_padded_sequence wants them
            packed_embedded = from_rnn.pack_padded_sequence(
                embedded, text_lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            packed_output, (hidden, cell) = self.lstm(packed_embedded)
            output, output_lengths = from_rnn.pad_packed_sequence(packed_output, batch_first=True)
            # the final forward and backward hidden states of the last layer
            hidden = torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)
            return self.fc(hidden), output, output_lengths

    def collate_batch(batch):
        labels, sentences = zip(*batch)
        lengths = torch.tensor([len(s) for s in sentences])
        padded = from_rnn.pad_sequence([torch.tensor(s) for s in sentences], batch_first=True, padding_value=0)
        return torch.tensor(labels).to(device), padded.to(device), lengths

    g = np.random.default_rng(0)
    data = [(int(g.integers(0, 3)), g.integers(1, 20, int(g.integers(1, 9))).tolist()) for _ in range(16)]
    model = Classifier(20, 6, 5, 3)
    if init is not None:
        model.load_state_dict(init)
    model.to(device)
    loader = torch.utils.data.DataLoader(data, batch_size=4, shuffle=False, collate_fn=collate_batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(2):
        model.train()
        for labels, text, lengths in loader:
            optimizer.zero_grad()
            logits, output, output_lengths = model(text, lengths)
            loss = criterion(logits, labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return model.state_dict(), losses, _np(output), _np(output_lengths)


@pytest.mark.parametrize("device", devices())
def test_packed_sequence_classifier(device: str) -> None:
    real_torch.manual_seed(7)
    init = packed_classifier(real_torch, "cpu")[0]
    _, t_losses, t_out, t_len = packed_classifier(real_torch, "cpu", init)
    _, m_losses, m_out, m_len = packed_classifier(minicnn, device, init)
    np.testing.assert_allclose(m_losses, t_losses, rtol=RTOL, atol=ATOL)
    assert m_out.shape == t_out.shape
    np.testing.assert_allclose(m_out, t_out, rtol=RTOL, atol=ATOL)
    assert m_len.dtype == t_len.dtype
    np.testing.assert_array_equal(m_len, t_len)


def test_pack_padded_sequence_unsorted_lengths_error_like_torch() -> None:
    """enforce_sorted=True (the default) with unsorted lengths: torch's RuntimeError and message."""
    x = np.zeros((5, 3, 2), np.float32)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order") as t_err:
        real_torch.nn.utils.rnn.pack_padded_sequence(real_torch.tensor(x), real_torch.tensor([5, 2, 4]))
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order") as m_err, warnings.catch_warnings():
        minicnn.nn.utils.rnn.pack_padded_sequence(minicnn.tensor(x), minicnn.tensor([5, 2, 4]))
    assert "enforce_sorted=False" in str(t_err.value) and "enforce_sorted=False" in str(m_err.value)


# ---------------------------------------------------------------------------------------------
# Language Translation with nn.Transformer (the Seq2SeqTransformer; torchtext's data replaced)

PAD_IDX, BOS_IDX, EOS_IDX = 1, 2, 3


def translation_transformer(torch: Any, device: str, init: dict | None = None) -> tuple:
    nn = torch.nn
    Tensor = torch.Tensor
    Transformer = nn.Transformer
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    DEVICE = _dev(torch, device)

    # helper Module that adds positional encoding to the token embedding to introduce a notion of word order.
    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size: int, dropout: float, maxlen: int = 5000):
            super(PositionalEncoding, self).__init__()
            den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding: Tensor):
            return self.dropout(token_embedding + self.pos_embedding[: token_embedding.size(0), :])

    # helper Module to convert tensor of input indices into corresponding tensor of token embeddings
    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size: int, emb_size):
            super(TokenEmbedding, self).__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens: Tensor):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    # Seq2Seq Network
    class Seq2SeqTransformer(nn.Module):
        def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size, tgt_vocab_size,
                     dim_feedforward=512, dropout=0.1):  # fmt: skip
            super(Seq2SeqTransformer, self).__init__()
            self.transformer = Transformer(
                d_model=emb_size,
                nhead=nhead,
                num_encoder_layers=num_encoder_layers,
                num_decoder_layers=num_decoder_layers,
                dim_feedforward=dim_feedforward,
                dropout=dropout,
            )
            self.generator = nn.Linear(emb_size, tgt_vocab_size)
            self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(
                src_emb, tgt_emb, src_mask, tgt_mask, None, src_padding_mask, tgt_padding_mask, memory_key_padding_mask
            )
            return self.generator(outs)

        def encode(self, src: Tensor, src_mask: Tensor):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

        def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)

    def generate_square_subsequent_mask(sz):
        mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
        return mask

    def create_mask(src, tgt):
        src_seq_len = src.shape[0]
        tgt_seq_len = tgt.shape[0]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)
        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    # dropout 0 (the tutorial: 0.1): the libraries' dropout masks differ
    transformer = Seq2SeqTransformer(2, 2, 16, 2, 20, 18, 32, dropout=0.0)
    if init is None:
        for p in transformer.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
    else:
        transformer.load_state_dict(init)
    transformer = transformer.to(DEVICE)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    optimizer = torch.optim.Adam(transformer.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)

    # function to add BOS/EOS and create tensor for input sequence indices
    def tensor_transform(token_ids):
        return torch.cat((torch.tensor([BOS_IDX]), torch.tensor(token_ids), torch.tensor([EOS_IDX])))

    # function to collate data samples into batch tensors
    def collate_fn(batch):
        src_batch, tgt_batch = [], []
        for src_sample, tgt_sample in batch:
            src_batch.append(tensor_transform(src_sample))
            tgt_batch.append(tensor_transform(tgt_sample))
        src_batch = pad_sequence(src_batch, padding_value=PAD_IDX)
        tgt_batch = pad_sequence(tgt_batch, padding_value=PAD_IDX)
        return src_batch, tgt_batch

    # function to generate output sequence using greedy algorithm
    def greedy_decode(model, src, src_mask, max_len, start_symbol):
        src = src.to(DEVICE)
        src_mask = src_mask.to(DEVICE)
        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)
        for i in range(max_len - 1):
            memory = memory.to(DEVICE)
            tgt_mask = (generate_square_subsequent_mask(ys.size(0)).type(torch.bool)).to(DEVICE)
            out = model.decode(ys, memory, tgt_mask)
            out = out.transpose(0, 1)
            prob = model.generator(out[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()
            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
            if next_word == EOS_IDX:
                break
        return ys

    # actual function to translate input sentence into target language
    def translate(model: torch.nn.Module, token_ids: list[int]):
        model.eval()
        src = tensor_transform(token_ids).view(-1, 1)
        num_tokens = src.shape[0]
        src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
        tgt_tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 5, start_symbol=BOS_IDX).flatten()
        return tgt_tokens.tolist()

    g = np.random.default_rng(0)
    pairs = [
        (g.integers(4, 20, g.integers(2, 7)).tolist(), g.integers(4, 18, g.integers(2, 7)).tolist()) for _ in range(8)
    ]
    before = translate(transformer, pairs[0][0])
    train_dataloader = torch.utils.data.DataLoader(pairs, batch_size=4, collate_fn=collate_fn)
    losses = []
    for epoch in range(3):
        transformer.train()
        for src, tgt in train_dataloader:
            src = src.to(DEVICE)
            tgt = tgt.to(DEVICE)
            tgt_input = tgt[:-1, :]
            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
            logits = transformer(
                src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask
            )
            optimizer.zero_grad()
            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return transformer.state_dict(), before, losses, translate(transformer, pairs[1][0])


@pytest.mark.parametrize("device", devices())
@pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning", "ignore:The PyTorch API of nested:UserWarning")
def test_translation_transformer(device: str) -> None:
    real_torch.manual_seed(8)
    init = translation_transformer(real_torch, "cpu")[0]
    _, t_before, t_losses, t_after = translation_transformer(real_torch, "cpu", init)
    _, m_before, m_losses, m_after = translation_transformer(minicnn, device, init)
    assert len(t_before) > 2 and m_before == t_before
    np.testing.assert_allclose(m_losses, t_losses, rtol=RTOL, atol=ATOL)
    assert m_after == t_after
