"""PyTorch's vision tutorials and pytorch/examples, ported by ``import minicnn as torch``.

Each port is the tutorial's code written once against a library namespace ``torch`` and run
twice: with real torch and with minicnn, from the same initial weights (copied through
``state_dict``) on the same data, at a small scale. The losses, outputs and weights after a few
optimiser steps must agree to float32 tolerance. Random draws (dropout masks, the VAE's noise)
differ between the libraries, so dropout is switched off and the noise is drawn once and
shared; everything else is the tutorial's code as published.

- pytorch/examples mnist/main.py (Net, Adadelta, StepLR, nll_loss, the accelerator device
  selection, torchvision's MNIST folder layout, save/load of the state dict);
- the DCGAN tutorial (ConvTranspose2d generator, BatchNorm, LeakyReLU, BCELoss, weights_init,
  use_deterministic_algorithms, make_grid);
- pytorch/examples vae/main.py (reparameterize, binary_cross_entropy, the KL term);
- the FGSM adversarial example tutorial (input gradients, sign, clamp, denorm);
- the spatial transformer networks tutorial (affine_grid, grid_sample and their warning);
- pytorch/examples super_resolution (PixelShuffle, orthogonal_ with calculate_gain) and
  mnist_rnn (LSTM, BatchNorm1d, Dropout2d on a 2-D input);
- pytorch/examples mnist_hogwild (Module.share_memory, a worker process training the shared model).
"""

from __future__ import annotations

import gzip
import multiprocessing
import warnings

import numpy as np
import pytest
import torch as real_torch
import torchvision
from conftest import SHARED

import minicnn as mc
import minicnn.data as mc_data

MNIST_FILES = SHARED / "data" / "mnist"
F32 = dict(rtol=1e-4, atol=1e-5)


def vision_of(torch):
    """(datasets, transforms) as the tutorials import them: torchvision's, or minicnn's mc.data."""
    if torch is real_torch:
        return torchvision.datasets, torchvision.transforms
    return mc_data, mc_data.transforms


def vutils_of(torch):
    """torchvision.utils (make_grid), or minicnn's mc.data, which holds make_grid."""
    return torchvision.utils if torch is real_torch else mc_data


def copy_state(sd):
    """A torch state dict as minicnn tensors."""
    return {k: mc.tensor(v.detach().numpy()) for k, v in sd.items()}


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    """torchvision's layout (root/MNIST/raw/, uncompressed; torchvision wants all four files) of
    the MNIST files, read by both libraries (the ports use the test split)."""
    root = tmp_path_factory.mktemp("data")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        src = MNIST_FILES / f"{name}.gz"
        if not src.exists():
            pytest.fail(f"the real MNIST is expected in {MNIST_FILES}")
        (raw / name).write_bytes(gzip.decompress(src.read_bytes()))
    return str(root)


# -- pytorch/examples mnist/main.py ---------------------------------------------------------------
def mnist_net(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net


def mnist_main(torch, root, sd, save_to):
    """mnist/main.py's main(), two epochs over 16 training and 16 test images."""
    datasets, transforms = vision_of(torch)
    F, optim = torch.nn.functional, torch.optim
    StepLR = torch.optim.lr_scheduler.StepLR
    use_accel = torch.accelerator.is_available()
    torch.manual_seed(1)
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
    train_kwargs = {"batch_size": 8}
    test_kwargs = {"batch_size": 16}
    if use_accel:
        accel_kwargs = {"num_workers": 1, "persistent_workers": True, "pin_memory": True, "shuffle": True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    dataset = datasets.MNIST(root, train=False, download=False, transform=transform)
    dataset1 = torch.utils.data.Subset(dataset, range(16))
    dataset2 = torch.utils.data.Subset(dataset, range(16, 32))
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = mnist_net(torch)().to(device)
    model.load_state_dict(sd)
    model.dropout1.p = model.dropout2.p = 0.0  # the two libraries draw different masks
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    record = []
    for _epoch in range(1, 3):
        model.train()
        for data, target in train_loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            record.append(loss.item())
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        record += [test_loss, correct, scheduler.get_last_lr()[0]]
        scheduler.step()
    torch.save(model.state_dict(), save_to)
    return record, model


def test_mnist_main_matches_torch(mnist_root, tmp_path):
    sd = mnist_net(real_torch)().state_dict()
    want, _ = mnist_main(real_torch, mnist_root, sd, tmp_path / "torch_mnist_cnn.pt")
    got, model = mnist_main(mc, mnist_root, copy_state(sd), tmp_path / "mnist_cnn.pt")
    np.testing.assert_allclose(got, want, **F32)
    reloaded = mnist_net(mc)()
    reloaded.load_state_dict(mc.load(tmp_path / "mnist_cnn.pt"))
    for (name, a), b in zip(model.state_dict().items(), reloaded.state_dict().values()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)


def test_mnist_datasets_and_transforms_match_torchvision(mnist_root):
    """The tutorial's MNIST(...) with Compose([ToTensor(), Normalize(...)]): sample and batch."""
    batches = []
    for torch in (real_torch, mc):
        datasets, transforms = vision_of(torch)
        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        ds = datasets.MNIST(mnist_root, train=False, download=False, transform=transform)
        image, label = ds[7]
        assert tuple(image.shape) == (1, 28, 28) and isinstance(label, int) and len(ds) == 10000
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(20)), batch_size=8, shuffle=False)
        batches.append([(x.numpy(), y.numpy()) for x, y in loader])
    for (tx, ty), (mx, my) in zip(*batches):
        assert mx.dtype == tx.dtype and my.dtype == ty.dtype
        np.testing.assert_allclose(mx, tx, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(my, ty)


def test_accelerator_device_selection_like_torch():
    """mnist/main.py picks its device through torch.accelerator: both libraries agree on the CPU."""
    assert mc.accelerator.is_available() == mc.cuda.is_available()
    if not mc.accelerator.is_available():
        assert not real_torch.accelerator.is_available()
        assert repr(mc.device("cpu")) == repr(real_torch.device("cpu"))


# -- the DCGAN tutorial ---------------------------------------------------------------------------
def dcgan(torch, nz=100, ngf=8, ndf=8, nc=3):
    """The tutorial's generator, discriminator and weights_init (ngf = ndf = 8 instead of 64)."""
    nn = torch.nn

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super().__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super().__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid(),
            )

        def forward(self, input):
            return self.main(input)

    return Generator, Discriminator, weights_init


def dcgan_training(torch, sd_g, sd_d, reals, noises, nz=100):
    """The tutorial's training loop over the given real batches and noise."""
    nn, optim = torch.nn, torch.optim
    torch.use_deterministic_algorithms(True)  # the tutorial's "Needed for reproducible results"
    Generator, Discriminator, weights_init = dcgan(torch, nz)
    ngpu = 1
    device = torch.device("cuda:0" if (torch.cuda.is_available() and ngpu > 0) else "cpu")
    netG = Generator(ngpu).to(device)
    netG.apply(weights_init)
    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    netG.load_state_dict(sd_g)
    netD.load_state_dict(sd_d)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(64, nz, 1, 1, device=device)
    assert tuple(fixed_noise.shape) == (64, nz, 1, 1)
    real_label = 1.0
    fake_label = 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    record = []
    for real, noise in zip(reals, noises):
        netD.zero_grad()
        real_cpu = torch.tensor(real).to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.tensor(noise).to(device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        record += [errD.item(), errG.item(), D_x, D_G_z1, D_G_z2]
    torch.use_deterministic_algorithms(False)
    with torch.no_grad():
        fake = netG(torch.tensor(noises[0]).to(device)).detach().cpu()
    img = vutils_of(torch).make_grid(fake, padding=2, normalize=True)  # the tutorial's img_list entry
    return record, np.transpose(img.numpy(), (1, 2, 0)), netG, netD


def test_dcgan_matches_torch():
    rng = np.random.default_rng(0)
    reals = [rng.uniform(-1, 1, (4, 3, 64, 64)).astype(np.float32) for _ in range(2)]
    noises = [rng.standard_normal((4, 100, 1, 1)).astype(np.float32) for _ in range(2)]
    Generator, Discriminator, weights_init = dcgan(real_torch)
    g, d = Generator(1), Discriminator(1)
    g.apply(weights_init)
    d.apply(weights_init)
    want = dcgan_training(real_torch, g.state_dict(), d.state_dict(), reals, noises)
    got = dcgan_training(mc, copy_state(g.state_dict()), copy_state(d.state_dict()), reals, noises)
    np.testing.assert_allclose(got[0], want[0], **F32)
    # Adam's first steps move each weight by about lr (2e-4) whatever the size of its gradient, so
    # a gradient that is 0 up to rounding may move either way: the images agree to a few lr
    np.testing.assert_allclose(got[1], want[1], rtol=1e-3, atol=1e-3)
    assert repr(got[2]) == repr(want[2]) and repr(got[3]) == repr(want[3])  # print(netG), print(netD)


def test_dcgan_weights_init_draws_like_torch():
    """weights_init through Module.apply: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales, zero shifts."""
    mc.manual_seed(0)
    Generator, Discriminator, weights_init = dcgan(mc, ngf=16)
    net = Generator(1)
    net.apply(weights_init)
    convs = np.concatenate([m.weight.numpy().ravel() for m in net.modules() if type(m).__name__ == "ConvTranspose2d"])
    scales = np.concatenate([m.weight.numpy() for m in net.modules() if type(m).__name__ == "BatchNorm2d"])
    assert abs(convs.mean()) < 1e-3 and abs(convs.std() - 0.02) < 1e-3
    assert abs(scales.mean() - 1) < 0.01 and abs(scales.std() - 0.02) < 0.01
    assert all(not m.bias.numpy().any() for m in net.modules() if type(m).__name__ == "BatchNorm2d")


# -- pytorch/examples vae/main.py -----------------------------------------------------------------
def vae(torch, noise):
    """The example's VAE and loss_function; ``noise`` stands in for randn_like's draws."""
    nn, F = torch.nn, torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            assert eps.shape == std.shape and eps.dtype == std.dtype
            eps = torch.tensor(next(noise))  # the same draw in both libraries
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD

    return VAE, loss_function


def vae_training(torch, root, sd, noise):
    datasets, transforms = vision_of(torch)
    VAE, loss_function = vae(torch, iter(noise))
    device = torch.device("cpu")
    ds = datasets.MNIST(root, train=False, download=False, transform=transforms.ToTensor())
    train_loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(48)), batch_size=16, shuffle=False)
    model = VAE().to(device)
    model.load_state_dict(sd)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    train_loss = 0
    record = []
    for data, _ in train_loader:
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        record.append(loss.item() / len(data))
    record.append(train_loss / len(train_loader.dataset))
    model.eval()
    with torch.no_grad():
        sample = torch.tensor(noise[0]).to(device)
        sample = model.decode(sample).cpu()
        images = sample.view(16, 1, 28, 28)
    return record, images.numpy()


def test_vae_matches_torch(mnist_root):
    noise = [np.random.default_rng(i).standard_normal((16, 20)).astype(np.float32) for i in range(3)]
    sd = vae(real_torch, iter(noise))[0]().state_dict()
    want = vae_training(real_torch, mnist_root, sd, noise)
    got = vae_training(mc, mnist_root, copy_state(sd), noise)
    np.testing.assert_allclose(got[0], want[0], **F32)
    np.testing.assert_allclose(got[1], want[1], **F32)


# -- the FGSM tutorial ----------------------------------------------------------------------------
def fgsm(torch, root, sd, epsilons):
    datasets, transforms = vision_of(torch)
    F = torch.nn.functional
    device = torch.device("cpu")
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(
            datasets.MNIST(
                root,
                train=False,
                download=False,
                transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]),
            ),
            range(6),
        ),
        batch_size=1,
        shuffle=False,
    )
    model = mnist_net(torch)().to(device)
    model.load_state_dict(sd)
    model.eval()

    def fgsm_attack(image, epsilon, data_grad):
        sign_data_grad = data_grad.sign()
        perturbed_image = image + epsilon * sign_data_grad
        perturbed_image = torch.clamp(perturbed_image, 0, 1)
        return perturbed_image

    def denorm(batch, mean=[0.1307], std=[0.3081]):  # noqa: B006 (the tutorial's defaults)
        if isinstance(mean, list):
            mean = torch.tensor(mean).to(device)
        if isinstance(std, list):
            std = torch.tensor(std).to(device)
        return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)

    def test(model, device, test_loader, epsilon):
        correct = 0
        adv_examples = []
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            data.requires_grad = True
            output = model(data)
            # the tutorial's output.max(1, keepdim=True)[1]: minicnn's Tensor.max(dim) gives the
            # values only (API.md), torch.max(x, dim) the (values, indices) pair in both
            init_pred = torch.max(output, 1, keepdim=True)[1]
            # a random network rarely gets a digit right: attack every image, not only those
            loss = F.nll_loss(output, target)
            model.zero_grad()
            loss.backward()
            data_grad = data.grad.data
            data_denorm = denorm(data)
            perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
            perturbed_data_normalized = transforms.Normalize((0.1307,), (0.3081,))(perturbed_data)
            output = model(perturbed_data_normalized)
            final_pred = torch.max(output, 1, keepdim=True)[1]
            if final_pred.item() == target.item():
                correct += 1
            adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
            adv_examples.append((init_pred.item(), final_pred.item(), adv_ex, output.detach().cpu().numpy()))
        final_acc = correct / float(len(test_loader))
        return final_acc, adv_examples

    return [test(model, device, test_loader, eps) for eps in epsilons]


def test_fgsm_matches_torch(mnist_root):
    real_torch.manual_seed(0)
    sd = mnist_net(real_torch)().state_dict()
    epsilons = [0, 0.3]
    want = fgsm(real_torch, mnist_root, sd, epsilons)
    got = fgsm(mc, mnist_root, copy_state(sd), epsilons)
    for (acc_t, ex_t), (acc_m, ex_m) in zip(want, got):
        assert acc_m == acc_t
        for (i_t, f_t, img_t, out_t), (i_m, f_m, img_m, out_m) in zip(ex_t, ex_m):
            assert (i_m, f_m) == (i_t, f_t)
            assert img_m.shape == img_t.shape == (28, 28) and img_m.dtype == img_t.dtype
            np.testing.assert_allclose(img_m, img_t, **F32)
            np.testing.assert_allclose(out_m, out_t, **F32)


# -- the spatial transformer networks tutorial ----------------------------------------------------
def stn_net(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)
            self.localization = nn.Sequential(
                nn.Conv2d(1, 8, kernel_size=7),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
                nn.Conv2d(8, 10, kernel_size=5),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
            )
            self.fc_loc = nn.Sequential(nn.Linear(10 * 3 * 3, 32), nn.ReLU(True), nn.Linear(32, 3 * 2))
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 10 * 3 * 3)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size())
            x = F.grid_sample(x, grid)
            return x

        def forward(self, x):
            x = self.stn(x)
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net


def stn_training(torch, root, sd):
    datasets, transforms = vision_of(torch)
    F, optim = torch.nn.functional, torch.optim
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = torch.utils.data.Subset(datasets.MNIST(root=root, train=False, download=False, transform=transform), range(32))
    train_loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=False, num_workers=0)
    model = stn_net(torch)().to(device)
    fresh = model.fc_loc[2].bias.detach().cpu().numpy().copy(), model.fc_loc[2].weight.detach().cpu().numpy().copy()
    model.load_state_dict(sd)
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    model.eval()  # not the tutorial's train(): its dropout masks differ between the libraries
    record, thetas = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for data, target in train_loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            record.append(loss.item())
            thetas.append(model.fc_loc[2].bias.detach().cpu().numpy().copy())
    messages = sorted({str(w.message) for w in caught})
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the align_corners warning again
        data = next(iter(train_loader))[0].to(device)
        transformed = model.stn(data).cpu()
    in_grid = vutils_of(torch).make_grid(data.cpu()).numpy().transpose((1, 2, 0))  # visualize_stn's
    return record, transformed.numpy(), thetas, fresh, messages, in_grid


def test_spatial_transformer_matches_torch(mnist_root):
    sd = stn_net(real_torch)().state_dict()
    want = stn_training(real_torch, mnist_root, sd)
    got = stn_training(mc, mnist_root, copy_state(sd))
    np.testing.assert_array_equal(got[3][0], [1, 0, 0, 0, 1, 0])  # fc_loc[2] starts at the identity
    assert not got[3][1].any()
    np.testing.assert_allclose(got[0], want[0], **F32)
    # MNIST's flat background makes ties in the max pools (broken by rounding, differently in each
    # library) and its sampling points start on pixel centres, the kinks of bilinear sampling: the
    # gradients reaching theta agree to about 1 % there (exactly on inputs without ties, below)
    for a, b in zip(got[2], want[2]):
        np.testing.assert_allclose(a, b, rtol=0.05, atol=1e-3)
    np.testing.assert_allclose(got[1], want[1], rtol=0.05, atol=0.05)
    assert got[4] == want[4] and any("align_corners=False since 1.3.0" in m for m in got[4])
    np.testing.assert_allclose(got[5], want[5], **F32)


def test_spatial_transformer_gradients_match_torch():
    """One backward of the tutorial's Net from the identity transform, on images without ties."""
    sd = stn_net(real_torch)().state_dict()
    x = np.random.default_rng(0).standard_normal((16, 1, 28, 28)).astype(np.float32)
    target = np.arange(16) % 10
    grads = []
    for torch, state in ((real_torch, sd), (mc, copy_state(sd))):
        model = stn_net(torch)()
        model.load_state_dict(state)
        model.eval()
        data = torch.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the align_corners warning, checked above
            torch.nn.functional.nll_loss(model(data), torch.tensor(target)).backward()
        grads.append([data.grad.numpy()] + [p.grad.numpy() for p in model.parameters()])
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


# -- pytorch/examples super_resolution and mnist_rnn ----------------------------------------------
def super_resolution_net(torch):
    nn, init = torch.nn, torch.nn.init

    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(32, upscale_factor**2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            self._initialize_weights()

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            x = self.pixel_shuffle(self.conv4(x))
            return x

        def _initialize_weights(self):
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv4.weight)

    return Net


def super_resolution_training(torch, sd, inputs, targets):
    nn, optim = torch.nn, torch.optim
    model = super_resolution_net(torch)(upscale_factor=3)
    model.load_state_dict(sd)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    record = []
    for input, target in zip(inputs, targets):
        input, target = torch.tensor(input), torch.tensor(target)
        optimizer.zero_grad()
        loss = criterion(model(input), target)
        record.append(loss.item())
        loss.backward()
        optimizer.step()
    avg_psnr = 0
    with torch.no_grad():
        for input, target in zip(inputs, targets):
            prediction = model(torch.tensor(input))
            mse = criterion(prediction, torch.tensor(target))
            avg_psnr += 10 * np.log10(1 / mse.item())
    return [*record, avg_psnr / len(inputs)]


def test_super_resolution_matches_torch():
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(0, 1, (2, 1, 11, 11)).astype(np.float32) for _ in range(3)]
    targets = [rng.uniform(0, 1, (2, 1, 33, 33)).astype(np.float32) for _ in range(3)]
    sd = super_resolution_net(real_torch)(3).state_dict()
    want = super_resolution_training(real_torch, sd, inputs, targets)
    got = super_resolution_training(mc, copy_state(sd), inputs, targets)
    np.testing.assert_allclose(got, want, **F32)


def test_super_resolution_orthogonal_init():
    """minicnn's own orthogonal_(w, calculate_gain('relu')): the rows of each (out, in*kh*kw)
    matrix are orthogonal with norm sqrt(2) (or its columns, where it is tall), as torch's."""
    mc.manual_seed(0)
    net = super_resolution_net(mc)(3)
    assert mc.nn.init.calculate_gain("relu") == real_torch.nn.init.calculate_gain("relu")
    for conv, gain in ((net.conv1, 2.0), (net.conv2, 2.0), (net.conv3, 2.0), (net.conv4, 1.0)):
        w = conv.weight.numpy().reshape(conv.weight.shape[0], -1).astype(np.float64)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, gain * np.eye(len(gram)), atol=1e-5)


def mnist_rnn_net(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
            self.batchnorm = nn.BatchNorm1d(64)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout2d(0.5)
            self.fc1 = nn.Linear(64, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, input):
            input = input.reshape(-1, 28, 28)
            output, hidden = self.rnn(input)
            output = output[:, -1, :]
            output = self.batchnorm(output)
            output = self.dropout1(output)
            output = self.fc1(output)
            output = F.relu(output)
            output = self.dropout2(output)
            output = self.fc2(output)
            output = F.log_softmax(output, dim=1)
            return output

    return Net


def mnist_rnn_training(torch, root, sd):
    datasets, transforms = vision_of(torch)
    F = torch.nn.functional
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(root, train=False, download=False, transform=transform)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(32)), batch_size=16, shuffle=False)
    model = mnist_rnn_net(torch)()
    model.load_state_dict(sd)
    model.dropout1.p = model.dropout2.p = 0.0
    optimizer = torch.optim.Adadelta(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    record = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            model.train()
            for data, target in loader:
                optimizer.zero_grad()
                loss = F.nll_loss(model(data), target)
                loss.backward()
                optimizer.step()
                record.append(loss.item())
            scheduler.step()
        model.eval()
        with torch.no_grad():
            test_loss, correct = 0, 0
            for data, target in loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
    messages = sorted({str(w.message) for w in caught})
    return (
        [*record, test_loss, correct],
        {k: v.detach().numpy() for k, v in model.named_parameters()},
        messages,
    )


def test_mnist_rnn_matches_torch(mnist_root):
    sd = mnist_rnn_net(real_torch)().state_dict()
    want = mnist_rnn_training(real_torch, mnist_root, sd)
    got = mnist_rnn_training(mc, mnist_root, copy_state(sd))
    np.testing.assert_allclose(got[0], want[0], **F32)
    for name, value in want[1].items():
        np.testing.assert_allclose(got[1][name], value, **F32, err_msg=name)
    assert got[2] == want[2] and any("2-D input to dropout2d" in m for m in got[2])  # Dropout2d on (N, C)


# -- pytorch/examples mnist_hogwild -------------------------------------------------------------
def hogwild_net(torch, p=0.5):
    """The example's Net; ``p``: F.dropout's (the example's default 0.5)."""
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, p, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net


def hogwild_worker(torch, rank, model, dataset, dataloader_kwargs):
    """train.py's train() and train_epoch(), one epoch."""
    F = torch.nn.functional
    torch.manual_seed(1 + rank)
    train_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    model.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()


def hogwild_main(torch, root, sd):
    """main.py with ``torch.multiprocessing`` replaced by the standard library's (fork: minicnn's
    shared memory does not survive the example's 'spawn'), one worker for a deterministic result."""
    datasets, transforms = vision_of(torch)
    F = torch.nn.functional
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    full = datasets.MNIST(root, train=False, transform=transform)
    dataset1, dataset2 = torch.utils.data.Subset(full, range(32)), torch.utils.data.Subset(full, range(32, 48))
    kwargs = {"batch_size": 8, "shuffle": False}
    model = hogwild_net(torch, p=0.0)()
    model.load_state_dict(sd)
    model.conv2_drop.p = 0.0  # no dropout (p=0.0 above for F.dropout's): the libraries draw different masks
    model.share_memory()  # gradients are allocated lazily, so they are not shared here
    processes = []
    for rank in range(1):
        p = multiprocessing.get_context("fork").Process(
            target=hogwild_worker, args=(torch, rank, model, dataset1, kwargs)
        )
        p.start()
        processes.append(p)
    for p in processes:
        p.join()
        assert p.exitcode == 0
    test_loader = torch.utils.data.DataLoader(dataset2, **kwargs)
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = torch.max(output, 1)[1]  # the example's output.max(1)[1]: see the FGSM port
            correct += pred.eq(target).sum().item()
    return [test_loss / len(test_loader.dataset), correct], {k: np.asarray(v) for k, v in model.state_dict().items()}


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="sharing needs fork")
def test_mnist_hogwild_matches_torch(mnist_root):
    sd = hogwild_net(real_torch)().state_dict()
    want = hogwild_main(real_torch, mnist_root, sd)
    got = hogwild_main(mc, mnist_root, copy_state(sd))
    assert not np.allclose(got[1]["fc2.weight"], sd["fc2.weight"].numpy())  # the worker's steps reached the parent
    np.testing.assert_allclose(got[0], want[0], **F32)
    for name, value in want[1].items():
        np.testing.assert_allclose(got[1][name], value, **F32, err_msg=name)
