//! Every trainable weight of every net receives a gradient in a training step. A parameter built
//! from a plain tensor (`Param::initialized(id, Tensor::zeros(..))`, or `Param::map` to
//! `zeros_like`) is one autodiff never tracks: the optimizer skips it and it keeps its initial
//! value for the whole run. AlexNet's and VGG's paper-initialised biases were so until the GPU
//! smoke check's parity (a net copied through a checkpoint file trained them, the fresh one did
//! not) found it. BN's running statistics are buffers, not weights, and are left out.

use burn::module::{ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};
use repro_alexnet::{Alexnet, AlexnetSpec};
use repro_common::engine::ImageClassifier;
use repro_googlenet::Googlenet;
use repro_lenet::lenet5::Lenet5;
use repro_lenet::modern::Lenet5Modern;
use repro_resnet::{CifarResnet, ImagenetResnet, ImagenetSpec};
use repro_vgg::{Config, Init, Vgg, VggSpec};

/// The weights (by path) of `model` that get no gradient from one training step on random
/// images of `side` pixels and `channels` channels.
fn weights_without_gradient<M: ImageClassifier>(model: M, channels: usize, side: usize, classes: usize) -> Vec<String> {
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::random([2, channels, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let y = Tensor::<1, Int>::from_ints([0, (classes - 1) as i32], &device);
    let (_, loss) = model.training_step(x, y);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    struct Find<'a> {
        grads: &'a GradientsParams,
        path: Vec<String>,
        missing: Vec<String>,
    }
    impl ModuleVisitor for Find<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let name = self.path.join(".");
            let buffer = name.ends_with("running_mean") || name.ends_with("running_var");
            let id: ParamId = param.id;
            if !buffer && self.grads.get::<D>(id).is_none() {
                self.missing.push(name);
            }
        }
    }
    let mut find = Find { grads: &grads, path: Vec::new(), missing: Vec::new() };
    model.visit(&mut find);
    find.missing
}

fn device() -> Device {
    Device::flex().autodiff()
}

#[test]
fn every_weight_of_every_net_gets_a_gradient() {
    let d = device();
    let mut missing = Vec::new();
    let mut check = |net: &str, m: Vec<String>| {
        if !m.is_empty() {
            missing.push(format!("{net}: {}", m.join(", ")));
        }
    };
    check("lenet5", weights_without_gradient(Lenet5::new(1.0, repro_lenet::InitRange::PAPER, &d), 1, 32, 10));
    check("lenet5-modern", weights_without_gradient(Lenet5Modern::new(&d), 1, 32, 10));
    check("resnet20", weights_without_gradient(CifarResnet::new(3, true, 10, &d), 3, 32, 10));
    let r50 = repro_resnet::Net::parse("resnet50").unwrap().imagenet_spec(10).unwrap();
    check("resnet50 (width 1/8)", weights_without_gradient(ImagenetResnet::new(ImagenetSpec { width: 0.125, ..r50 }, &d), 3, 64, 10));
    check("alexnet, paper init (width 1/8)", weights_without_gradient(Alexnet::new(AlexnetSpec::paper(10).narrowed(0.125), &d), 3, 227, 10));
    check("alexnet, torchvision (width 1/8)", weights_without_gradient(Alexnet::new(AlexnetSpec::torchvision(10).narrowed(0.125), &d), 3, 224, 10));
    let vgg = |config, batch_norm, init| VggSpec { config, batch_norm, classes: 10, init, width: 0.125 };
    check("vgg-a, paper init (width 1/8)", weights_without_gradient(Vgg::new(vgg(Config::A, false, Init::Normal { std: 0.01 }), &d), 3, 64, 10));
    check("vgg-d, Glorot init (width 1/8)", weights_without_gradient(Vgg::new(vgg(Config::D, false, Init::Glorot), &d), 3, 64, 10));
    check("vgg-a-bn, default init (width 1/8)", weights_without_gradient(Vgg::new(vgg(Config::A, true, Init::Default), &d), 3, 64, 10));
    check("googlenet with aux heads (width 1/16)", weights_without_gradient(Googlenet::with_width(10, true, 0.0625, &d), 3, 224, 10));
    assert!(missing.is_empty(), "weights no gradient reaches (they would never train):\n{}", missing.join("\n"));
}
